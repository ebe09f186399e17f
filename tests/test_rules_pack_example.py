"""The worked example of docs/rules.md: a pack for a singleton that is not a dispatcher."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import load_rule_set
from tests.conftest import REPO

BEFORE = """\
from app.context import RequestContext
from app.db.client import DatabaseClient, get_global_client


async def list_orders(request: RequestContext, customer_id: str):
    db = DatabaseClient(pool_size=5)
    return await db.fetch("orders", customer_id=customer_id)


async def legacy_report(request: RequestContext):
    db = get_global_client()
    rows = await db.fetch("report")
    return summarise(rows)


async def raw(request: RequestContext):
    db = DatabaseClient(dsn="postgres://x")
    return await db.fetch("x")
"""

AFTER = """\
from app.context import RequestContext
from app.db.client import DatabaseClient
from app.db.sessions import SessionFactory


async def list_orders(request: RequestContext, customer_id: str):
    async with SessionFactory.session_scope(request_context=request, pool_size=5) as db:
        return await db.fetch("orders", customer_id=customer_id)


async def legacy_report(request: RequestContext):
    async with SessionFactory.session_scope(request_context=request) as db:
        rows = await db.fetch("report")
    return summarise(rows)


async def raw(request: RequestContext):
    db = DatabaseClient(dsn="postgres://x")
    return await db.fetch("x")
"""


def test_pack_in_docs_is_the_tested_one() -> None:
    doc = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    pack = re.search(r"```yaml\n# rules/db-session.yaml\n(.*?)```", doc, re.S)
    assert pack is not None
    assert pack.group(1) == (REPO / "tests" / "data" / "db-session.yaml").read_text(
        encoding="utf-8"
    )


def test_database_client_pack_rewrites_and_leaves_unmapped(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text(BEFORE, encoding="utf-8")
    rules = load_rule_set([str(REPO / "tests" / "data" / "db-session.yaml")])
    config = Config(root=tmp_path, cache=False, jobs=1)
    result = write_changes(plan_fixes(config, rules, [str(tmp_path)]), tmp_path)
    assert result.written == ("orders.py",)
    assert (tmp_path / "orders.py").read_text(encoding="utf-8") == AFTER
    assert [f.fix.reason for f in result.left if f.fix] == ["unmapped-argument:dsn"]
    again = plan_fixes(config, rules, [str(tmp_path)])
    assert not [c for c in again.changes if c.changed]
