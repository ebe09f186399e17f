"""Golden files: every audit and report format on the small application in tests/data/report_app.

Regenerate after an intended change with
`MIGRATOR_UPDATE_GOLDEN=1 python -m pytest tests/test_reports_golden.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator import __version__
from migrator.cli import app

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
TODAY = "2026-01-15"
UPDATE = os.environ.get("MIGRATOR_UPDATE_GOLDEN") == "1"

#: (golden file, tree, command and options); the tree is audited with itself as root.
CASES: list[tuple[str, str, list[str]]] = [
    # Written to a file, the default `console` is `concise`; `full` is the terminal's table.
    ("report_app/audit.console.txt", "tests/data/report_app", ["audit"]),
    ("report_app/audit.concise.txt", "tests/data/report_app", ["audit", "-f", "concise"]),
    ("report_app/audit.full.txt", "tests/data/report_app", ["audit", "-f", "full"]),
    ("report_app/audit.json", "tests/data/report_app", ["audit", "-f", "json"]),
    ("report_app/audit.sarif", "tests/data/report_app", ["audit", "-f", "sarif"]),
    ("report_app/audit.junit.xml", "tests/data/report_app", ["audit", "-f", "junit"]),
    ("report_app/audit.github.txt", "tests/data/report_app", ["audit", "-f", "github"]),
    ("report_app/audit.md", "tests/data/report_app", ["audit", "-f", "markdown"]),
    (
        "report_app/audit-baseline.md",
        "tests/data/report_app",
        ["audit", "-f", "markdown", "--baseline", "tests/golden/report_app/baseline.json"],
    ),
    (
        "report_app/audit-baseline.sarif",
        "tests/data/report_app",
        ["audit", "-f", "sarif", "--baseline", "tests/golden/report_app/baseline.json"],
    ),
    ("report_app/report.console.txt", "tests/data/report_app", ["report"]),
    ("report_app/report.md", "tests/data/report_app", ["report", "-f", "markdown"]),
    ("report_app/report.json", "tests/data/report_app", ["report", "-f", "json", "--depth", "1"]),
    ("report_app/report.html", "tests/data/report_app", ["report", "-f", "html"]),
]

LEGACY_APP = REPO / "fixtures" / "legacy_app"


def _legacy_cases() -> list[tuple[str, str, list[str]]]:
    """The fixture application, once it has sites (it is being finished elsewhere)."""
    if not (LEGACY_APP / "agent_platform").is_dir():
        return []
    tree = "fixtures/legacy_app"
    return [
        ("legacy_app/audit.json", tree, ["audit", "-f", "json"]),
        ("legacy_app/audit.sarif", tree, ["audit", "-f", "sarif"]),
        ("legacy_app/audit.junit.xml", tree, ["audit", "-f", "junit"]),
        ("legacy_app/audit.github.txt", tree, ["audit", "-f", "github"]),
        ("legacy_app/audit.md", tree, ["audit", "-f", "markdown"]),
        ("legacy_app/report.console.txt", tree, ["report"]),
        ("legacy_app/report.md", tree, ["report", "-f", "markdown"]),
        ("legacy_app/report.json", tree, ["report", "-f", "json"]),
        ("legacy_app/report.html", tree, ["report", "-f", "html"]),
    ]


def render(tree: str, argv: list[str], output: Path) -> str:
    command, options = argv[0], argv[1:]
    options = [str(REPO / o) if o.startswith("tests/golden/") else o for o in options]
    root = REPO / tree
    result = CliRunner().invoke(
        app, [command, str(root), "--root", str(root), "--no-cache", "-o", str(output), *options]
    )
    assert result.exit_code in (0, 1), result.output
    text = output.read_text(encoding="utf-8")
    return text.replace(__version__, "<version>")


@pytest.mark.parametrize(
    ("golden", "tree", "argv"),
    CASES + _legacy_cases(),
    ids=[case[0] for case in CASES + _legacy_cases()],
)
def test_golden(
    golden: str, tree: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", TODAY)
    # concise and full show paths relative to the current folder: fix it.
    monkeypatch.chdir(REPO)
    suffix = Path(golden).suffix
    text = render(tree, argv, tmp_path / f"out{suffix}")
    path = GOLDEN / golden
    if UPDATE or not path.exists():
        if not UPDATE and os.environ.get("CI") == "true":
            pytest.fail(f"missing golden file {path}; generate it with MIGRATOR_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{golden} changed; if intended, regenerate with MIGRATOR_UPDATE_GOLDEN=1 and review the diff"
    )


def test_every_format_has_a_golden() -> None:
    """Every format of the registry (so every `--format` choice) has a golden file."""
    from migrator.reports.formats import FORMATS

    covered = {
        (argv[0], argv[argv.index("-f") + 1] if "-f" in argv else "console") for _, _, argv in CASES
    }
    documents = {"audit": "audit", "progress": "report"}
    assert {(documents[f.document], f.name) for f in FORMATS} <= covered
