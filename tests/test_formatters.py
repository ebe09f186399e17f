"""Baselines and suppressions survive `ruff format` and `black`; suppressions are real comments."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.pull_requests import audit_clone, pull_request

REPO = Path(__file__).resolve().parent.parent
IMPORT = "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"

#: Narrow lines, so that the formatters split calls and add trailing commas.
FORMATTERS = {
    "black": [sys.executable, "-m", "black", "-q", "--line-length", "40"],
    "ruff": [sys.executable, "-m", "ruff", "format", "-q", "--line-length", "40", "--no-cache"],
}


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", "2026-01-15")


def _audit(root: Path, *args: str) -> tuple[int, dict]:
    done = CliRunner().invoke(
        app, ["audit", str(root), "--root", str(root), "--no-cache", "-f", "json", *args]
    )
    assert done.exit_code in (0, 1), done.output
    return done.exit_code, json.loads(done.stdout)


def _sites(document: dict) -> list[tuple[str, str, str, bool]]:
    return sorted(
        (f["path"], f["kind"], f["fingerprint"], f["suppressed"]) for f in document["findings"]
    )


SAMPLE = IMPORT + (
    "\n\nasync def build(user_context, tools, emitter, permissions):\n"
    "    first = ToolDispatcher(user_context=None, tools=tools, websocket_emitter=emitter, "
    "permission_service=permissions)  # migrator: ignore[singleton] batch job\n"
    "    second = ToolDispatcher(None, tools=['search', 'fetch'], permission_service=permissions)\n"
    "    return first, second\n"
)


@pytest.mark.parametrize("formatter", FORMATTERS, ids=FORMATTERS)
def test_fingerprints_baselines_and_suppressions_survive_the_formatter(
    formatter: str, tmp_path: Path
) -> None:
    tree = tmp_path / "app"
    shutil.copytree(REPO / "fixtures" / "legacy_app", tree)
    (tree / "sample.py").write_text(SAMPLE)
    _, before = _audit(tree)
    baseline = tmp_path / "baseline.json"
    _audit(tree, "--write-baseline", str(baseline))
    sample_before = (tree / "sample.py").read_text()
    subprocess.run([*FORMATTERS[formatter], str(tree)], check=True)
    formatted = (tree / "sample.py").read_text()
    assert formatted != sample_before
    assert ",\n" in formatted and formatted.count("\n") > sample_before.count("\n")
    _, after = _audit(tree)
    assert _sites(after) == _sites(before)
    assert any(site[3] for site in _sites(after)), "the suppression still counts"
    _, gated = _audit(tree, "--baseline", str(baseline))
    assert gated["baseline"]["new"] == 0
    assert gated["baseline"]["gone"] == []
    assert not [w for w in gated["warnings"] if "suppression" in w]


COMMENTS = [
    (
        "closing-line",
        IMPORT + "d = ToolDispatcher(\n    None,\n)  # migrator: ignore[singleton] ok\n",
        True,
    ),
    (
        "next-line",
        IMPORT + "# migrator: ignore-next-line[singleton] ok\nd = ToolDispatcher()\n",
        True,
    ),
    (
        "line-above-without-next-line",
        IMPORT + "# migrator: ignore[singleton]\nd = ToolDispatcher()\n",
        False,
    ),
    ("inside-a-string", IMPORT + 'd = ToolDispatcher(); NOTE = "# migrator: ignore"\n', False),
    (
        "moved-by-a-form-feed",
        IMPORT + "# a comment \x0c\n# migrator: ignore[singleton]\nd = ToolDispatcher()\n",
        False,
    ),
    (
        "inside-a-multiline-string",
        IMPORT + 'd = ToolDispatcher(); DOC = """\n"""  # migrator: ignore\n',
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "suppressed"), COMMENTS, ids=[case[0] for case in COMMENTS]
)
def test_a_suppression_is_a_real_comment_on_the_call(
    case: str, text: str, suppressed: bool, tmp_path: Path
) -> None:
    (tmp_path / "m.py").write_text(text)
    code, document = _audit(tmp_path)
    [site] = document["findings"]
    assert site["suppressed"] is suppressed
    assert code == (0 if suppressed else 1)


def test_baseline_entries_of_excluded_or_ignored_files_are_not_gone(tmp_path: Path) -> None:
    (tmp_path / "kept.py").write_text(IMPORT + "d = ToolDispatcher()\n")
    (tmp_path / "vendored").mkdir()
    (tmp_path / "vendored" / "old.py").write_text(IMPORT + "e = ToolDispatcher()\n")
    (tmp_path / "ignored.py").write_text(IMPORT + "f = ToolDispatcher()\n")
    baseline = tmp_path / "baseline.json"
    _audit(tmp_path, "--write-baseline", str(baseline))
    assert len(json.loads(baseline.read_text())["entries"]) == 3
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "pyproject.toml").write_text('[tool.migrator]\nexclude = ["vendored/"]\n')
    code, document = _audit(tmp_path, "--baseline", str(baseline))
    assert code == 0
    assert document["baseline"]["gone"] == []
    (tmp_path / "kept.py").write_text("x = 1\n")
    _, document = _audit(tmp_path, "--baseline", str(baseline))
    assert [g["path"] for g in document["baseline"]["gone"]] == ["kept.py"]


NOT_COMMENTS = [
    (
        "suppression-in-a-string",
        IMPORT + 'dispatcher = ToolDispatcher(); NOTE = "# migrator: ignore"\n',
    ),
    (
        "suppression-moved-by-a-form-feed",
        IMPORT + "# see below \x0c\n# migrator: ignore[singleton]\ndispatcher = ToolDispatcher()\n",
    ),
]


@pytest.mark.parametrize(("case", "module"), NOT_COMMENTS, ids=[c[0] for c in NOT_COMMENTS])
def test_a_pull_request_cannot_suppress_with_what_is_not_a_comment(
    case: str, module: str, tmp_path: Path
) -> None:
    clone = pull_request(tmp_path, {"app/new.py": module})
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 1, audit.stderr
    [site] = [f for f in audit.document["findings"] if f["path"] == "app/new.py"]
    assert (site["kind"], site["suppressed"]) == ("singleton", False)
