"""Plan sentences speak of the rule pack's own class and context type, never "dispatcher"
when the pack migrates something else (issue 15): `tests/data/db-session.yaml`."""

from __future__ import annotations

from pathlib import Path

from migrator.model import ManualReason
from tests.helpers import REPO, audit_tree

DB_PACK = str(REPO / "tests" / "data" / "db-session.yaml")

SOURCE = """\
import functools

from app.db.client import DatabaseClient

shared = DatabaseClient(None)


class Repository:
    client = DatabaseClient(None)


@functools.lru_cache
def cached():
    return DatabaseClient(request_context=None)


async def no_context(pool_size):
    return DatabaseClient(pool_size=pool_size)
"""


def test_plan_sentences_name_the_packs_class_and_context(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SOURCE)
    findings = audit_tree(tmp_path, rules=[DB_PACK]).result.findings
    messages = {f.fix.reason: f.fix.message for f in findings if f.fix is not None}
    assert set(messages) == {
        ManualReason.MODULE_LEVEL.value,
        ManualReason.CLASS_BODY.value,
        ManualReason.SHARED_INSTANCE.value,
        ManualReason.NO_CONTEXT_IN_SCOPE.value,
    }, messages
    for message in messages.values():
        assert "dispatcher" not in message.lower(), message
        assert "{" not in message, message
    assert messages[ManualReason.MODULE_LEVEL.value].startswith(
        "A module-level `DatabaseClient` is shared by every user"
    )
    assert messages[ManualReason.CLASS_BODY.value].startswith("A `DatabaseClient` in a class body")
    assert messages[ManualReason.SHARED_INSTANCE.value].startswith(
        "The `DatabaseClient` is cached or stored globally"
    )
    assert (
        "pass a RequestContext into this function"
        in messages[ManualReason.NO_CONTEXT_IN_SCOPE.value]
    )
