"""Suppression comments: shown as suppressed, never silently dropped; unused and expired ones reported."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.suppress import parse_suppression, with_suppression_review
from tests.helpers import audit_tree

HEADER = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
    "from netra_backend.app.agents.tool_dispatcher import create_legacy_tool_dispatcher\n\n\n"
)


def _write(root: Path, body: str, name: str = "svc.py") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _audit(root: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(
        app, ["audit", str(root), "--root", str(root), "--no-cache", "--format", "json", *args]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _reviewed(root: Path):
    analysis = audit_tree(root)
    return with_suppression_review(analysis.result, analysis.facts)


def test_parse_suppression_reads_codes_reason_and_date() -> None:
    s = parse_suppression(
        "# migrator: ignore[singleton, unified-tool-dispatcher] shared cache until=2026-12-31"
    )
    assert s.codes == ("singleton", "unified-tool-dispatcher")
    assert s.reason == "shared cache"
    assert s.until == dt.date(2026, 12, 31)
    assert s.problem is None
    bare = parse_suppression("# migrator: ignore")
    assert bare.codes == () and bare.reason is None and bare.until is None
    bad = parse_suppression("# migrator: ignore[singleton] until=31/12/2026")
    assert bad.problem is not None and "YYYY-MM-DD" in bad.problem


def test_suppressed_site_is_shown_with_its_reason_and_does_not_block(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "def legacy_job():\n"
        "    return ToolDispatcher()  # migrator: ignore[singleton] batch job, single tenant\n",
    )
    code, document = _audit(tmp_path)
    assert code == 0
    (finding,) = document["findings"]
    assert finding["kind"] == "singleton"
    assert finding["suppressed"] is True
    assert finding["suppression_reason"] == "batch job, single tenant"
    assert document["warnings"] == []
    console = CliRunner().invoke(
        app, ["audit", str(tmp_path), "--root", str(tmp_path), "--no-cache"]
    )
    assert "(suppressed)" in console.stdout


@pytest.mark.parametrize(
    "comment",
    ["# migrator: ignore", "# migrator: ignore[]", "# migrator: ignore[unified-tool-dispatcher]"],
    ids=["bare", "empty-brackets", "rule-id"],
)
def test_bare_and_rule_id_suppressions(tmp_path: Path, comment: str) -> None:
    _write(tmp_path, f"def job():\n    return ToolDispatcher()  {comment}\n")
    code, document = _audit(tmp_path)
    assert code == 0
    assert [f["suppressed"] for f in document["findings"]] == [True]


def test_suppression_for_another_kind_is_unused_and_the_site_blocks(tmp_path: Path) -> None:
    _write(
        tmp_path, "def job():\n    return ToolDispatcher()  # migrator: ignore[legacy-factory]\n"
    )
    code, document = _audit(tmp_path)
    assert code == 1
    assert document["findings"][0]["suppressed"] is False
    (warning,) = document["warnings"]
    assert warning.startswith("unused suppression at svc.py:6")


def test_suppression_on_a_line_without_site_is_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "async def job(user_context):\n"
        "    dispatcher = ToolDispatcher(user_context)\n"
        "    await dispatcher.dispatch('x')  # migrator: ignore[singleton] stale\n",
    )
    result = _reviewed(tmp_path)
    assert [w.split(":")[0] for w in result.warnings] == ["unused suppression at svc.py"]
    assert "svc.py:7" in result.warnings[0]
    assert result.extra["suppressions"][0]["status"] == "unused"


def test_expired_suppression_blocks_like_the_site(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "def job():\n    return ToolDispatcher()  # migrator: ignore[singleton] until=2020-01-31\n",
    )
    code, document = _audit(tmp_path)
    assert code == 1
    (finding,) = document["findings"]
    assert finding["suppressed"] is False
    (warning,) = document["warnings"]
    assert warning.startswith("expired suppression at svc.py:6")
    assert "2020-01-31" in warning
    assert document["suppressions"][0]["fingerprints"] == [finding["fingerprint"]]


def test_expired_suppression_blocks_even_for_a_kind_that_does_not(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "async def job(user_context):\n"
        "    d = ToolDispatcher(user_context)  # migrator: ignore[direct-scoped] until=2020-01-01\n"
        "    await d.dispatch('x')\n",
    )
    code, document = _audit(tmp_path)
    assert document["findings"][0]["kind"] == "direct-scoped"
    assert code == 1


def test_expiry_date_is_inclusive_and_can_be_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path,
        "def job():\n    return ToolDispatcher()  # migrator: ignore[singleton] until=2030-06-30\n",
    )
    monkeypatch.setenv("MIGRATOR_TODAY", "2030-06-30")
    code, document = _audit(tmp_path)
    assert (code, document["findings"][0]["suppressed"]) == (0, True)
    monkeypatch.setenv("MIGRATOR_TODAY", "2030-07-01")
    code, document = _audit(tmp_path)
    assert (code, document["findings"][0]["suppressed"]) == (1, False)
    assert document["warnings"][0].startswith("expired suppression")


def test_malformed_date_suppresses_nothing_and_says_why(tmp_path: Path) -> None:
    _write(tmp_path, "def job():\n    return ToolDispatcher()  # migrator: ignore until=soon\n")
    code, document = _audit(tmp_path)
    assert code == 1
    assert document["findings"][0]["suppressed"] is False
    (warning,) = document["warnings"]
    assert warning.startswith("invalid suppression at svc.py:6")
    assert "YYYY-MM-DD" in warning


def test_one_comment_covers_every_matching_site_on_its_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "def job():\n"
        "    return ToolDispatcher(), create_legacy_tool_dispatcher()  # migrator: ignore[singleton]\n",
    )
    code, document = _audit(tmp_path)
    by_kind = {f["kind"]: f["suppressed"] for f in document["findings"]}
    assert by_kind == {"singleton": True, "legacy-factory": False}
    assert code == 1
    assert document["warnings"] == []


def test_review_is_idempotent(tmp_path: Path) -> None:
    _write(
        tmp_path, "def job():\n    return ToolDispatcher()  # migrator: ignore[legacy-factory]\n"
    )
    analysis = audit_tree(tmp_path)
    once = with_suppression_review(analysis.result, analysis.facts)
    twice = with_suppression_review(once, analysis.facts)
    assert once.warnings == twice.warnings and len(once.warnings) == 1


def test_suppressions_outside_the_reported_files_are_not_reported(tmp_path: Path) -> None:
    _write(
        tmp_path, "def a():\n    return ToolDispatcher()  # migrator: ignore[uncertain]\n", "a.py"
    )
    _write(tmp_path, "def b():\n    return ToolDispatcher()\n", "b.py")
    from migrator.config import Config
    from migrator.engine import analyse
    from migrator.rules import load_rule_set

    config = Config(root=tmp_path, cache=False, jobs=1)
    only_b = analyse(config, load_rule_set([]), [str(tmp_path)], only={"b.py"}).result
    assert only_b.warnings == ()
    everything = audit_tree(tmp_path).result
    assert [w.split(":")[0] for w in everything.warnings] == ["unused suppression at a.py"]
