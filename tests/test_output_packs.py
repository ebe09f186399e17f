"""Reports speak of the rule pack of the run: a database-client pack never reads as dispatchers.

Audits a small tree with the worked example of docs/rules.md
(tests/data/db-session.yaml: `DatabaseClient` to `SessionFactory`) through the
real command, and checks SARIF (validated against the 2.1.0 schema), JUnit and
`report merge`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.test_ci_gate import _validate_sarif, sarif_schema  # noqa: F401  (a fixture)

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "tests" / "data" / "db-session.yaml"

ORDERS = """\
from app.context import RequestContext
from app.db.client import DatabaseClient, get_global_client


async def list_orders(request: RequestContext, customer_id: str):
    db = DatabaseClient(pool_size=5)
    return await db.fetch("orders", customer_id=customer_id)


async def legacy_report(request: RequestContext):
    db = get_global_client()
    return await db.fetch("report")


async def scoped(request: RequestContext):
    db = DatabaseClient(request)
    return await db.fetch("x")
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "orders.py").write_text(ORDERS, encoding="utf-8")
    return tmp_path


def audit(tree: Path, *args: str) -> str:
    result = CliRunner().invoke(
        app, ["audit", str(tree), "--root", str(tree), "--no-cache", "--rules", str(PACK), *args]
    )
    assert result.exit_code == 1, result.output
    return result.stdout


def test_sarif_rules_are_the_packs_rules_in_its_words(
    tree: Path,
    sarif_schema: dict,  # noqa: F811  (the fixture imported above)
) -> None:
    document = json.loads(audit(tree, "-f", "sarif"))
    _validate_sarif(document, sarif_schema)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["database-client", "global-db-client"]
    text = json.dumps(rules)
    assert not re.search(r"dispatcher|UnifiedTool", text, re.I), text
    client, legacy = rules
    assert client["fullDescription"]["text"].startswith(
        "One shared DatabaseClient to one session per request."
    )
    assert "app.db.client.DatabaseClient" in client["fullDescription"]["text"]
    for rule in rules:
        assert "await SessionFactory.open_session(request_context=" in rule["help"]["text"]
        assert "async with SessionFactory.session_scope(request_context=" in rule["help"]["text"]
    assert "app.db.client.get_global_client" in legacy["fullDescription"]["text"]


def test_sarif_rule_id_is_the_pack_rule_and_the_kind_a_property(tree: Path) -> None:
    document = json.loads(audit(tree, "-f", "sarif"))
    findings = {f["fingerprint"]: f for f in json.loads(audit(tree, "-f", "json"))["findings"]}
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    seen = set()
    for result in run["results"]:
        finding = findings[result["partialFingerprints"]["migratorSite/v1"]]
        assert result["ruleId"] == finding["rule"] == rules[result["ruleIndex"]]["id"]
        assert result["properties"]["kind"] == finding["kind"]
        seen.add((result["ruleId"], finding["kind"]))
    assert seen == {
        ("database-client", "singleton"),
        ("global-db-client", "legacy-factory"),
        ("database-client", "direct-scoped"),
    }


def test_junit_help_comes_from_the_pack(tree: Path) -> None:
    xml = audit(tree, "-f", "junit")
    assert "UnifiedToolDispatcherFactory" not in xml
    help_lines = [line for line in xml.splitlines() if line.startswith(("how to fix ", "rule "))]
    assert help_lines
    for line in help_lines:
        assert "dispatcher" not in line.lower(), line
    assert "rule global-db-client: Replace the call with `await SessionFactory.open_session(" in xml
    assert "rule database-client: Create it per request with `await SessionFactory" in xml


def test_merge_describes_a_pack_it_was_not_given_from_the_findings(
    tree: Path,
    tmp_path: Path,
    sarif_schema: dict,  # noqa: F811  (the fixture imported above)
) -> None:
    shard = tmp_path / "audit.json"
    shard.write_text(audit(tree, "-f", "json"), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "merge", str(shard), "-f", "sarif"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _validate_sarif(document, sarif_schema)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert sorted(r["id"] for r in rules) == ["database-client", "global-db-client"]
    assert "UnifiedTool" not in json.dumps(rules)
    assert "app.db.client.DatabaseClient" in json.dumps(rules)
