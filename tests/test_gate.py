"""One gate: the exit code and every format ask `migrator.gate.verdict`, and it never
passes on what it could not read."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.pull_requests import BASE, SINGLETON, audit_clone, pull_request

IMPORT = "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", "2026-01-15")


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8", errors="surrogateescape")
    return root


def _audit(root: Path, *args: str, paths: tuple[str, ...] = (".",)) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["audit", *(str(root / p) for p in paths), "--root", str(root), "--no-cache", *args]
    )
    assert result.exit_code in (0, 1, 2), result.output
    return result.exit_code, result.stdout


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str]
    args: tuple[str, ...]
    code: int
    blocking: int
    failing_errors: int


CASES = [
    Case(
        "direct-scoped-with-expired-suppression",
        {
            "m.py": IMPORT + "async def f(user_context):\n"
            "    return ToolDispatcher(user_context)  # migrator: ignore until=2025-01-01\n"
        },
        (),
        1,
        1,
        0,
    ),
    Case(
        "syntax-error", {"ok.py": IMPORT, "bad.py": IMPORT + "d = ToolDispatcher(\n"}, (), 2, 0, 1
    ),
    Case(
        "over-max-file-bytes",
        {
            "big.py": IMPORT + "d = ToolDispatcher()\n",
            "pyproject.toml": "[tool.migrator]\nmax_file_bytes = 20\n",
        },
        (),
        2,
        0,
        1,
    ),
    Case("undecodable", {"latin.py": "# caf\udce9\n" + IMPORT}, (), 2, 0, 1),
    Case(
        "syntax-error-with-fail-on-error",
        {"bad.py": IMPORT + "d = ToolDispatcher(\n"},
        ("--fail-on", "singleton,error"),
        1,
        0,
        1,
    ),
    Case(
        "syntax-error-allowed-by-name",
        {
            "bad.py": IMPORT + "d = ToolDispatcher(\n",
            "pyproject.toml": '[tool.migrator]\nallow_skipped = ["bad.py"]\n',
        },
        (),
        0,
        0,
        0,
    ),
    Case(
        "uncertain-under-strict",
        {"m.py": IMPORT + "def f(**options):\n    return ToolDispatcher(**options)\n"},
        ("--strict",),
        1,
        1,
        0,
    ),
    Case(
        "uncertain-without-strict",
        {"m.py": IMPORT + "def f(**options):\n    return ToolDispatcher(**options)\n"},
        (),
        0,
        0,
        0,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exit_code_and_every_format_agree(case: Case, tmp_path: Path) -> None:
    root = _tree(tmp_path, case.files)
    code, _ = _audit(root, *case.args)
    assert code == case.code
    outputs = {}
    for name in ("json", "markdown", "sarif", "junit", "github", "console"):
        same_code, outputs[name] = _audit(root, "-f", name, *case.args)
        assert same_code == case.code, name
    summary = json.loads(outputs["json"])["summary"]
    assert (summary["blocking"], summary["failing_errors"]) == (case.blocking, case.failing_errors)
    assert summary["passed"] is (case.code == 0)
    markdown = outputs["markdown"].splitlines()[2]
    assert (f"❌ **{case.blocking} blocking**" in markdown) is (case.blocking > 0)
    assert (f"{case.failing_errors} file(s) not analysed" in markdown) is (case.failing_errors > 0)
    assert ("nothing blocking" in markdown) is (case.code == 0)
    run = json.loads(outputs["sarif"])["runs"][0]
    assert run["properties"]["blocking"] == case.blocking
    assert run["invocations"][0]["executionSuccessful"] is (case.failing_errors == 0)
    junit = ET.fromstring(outputs["junit"])
    assert int(junit.get("failures", "0")) == case.blocking
    assert int(junit.get("errors", "0")) == case.failing_errors
    github = outputs["github"]
    assert github.count("::error ") == case.blocking + case.failing_errors
    assert f"{case.blocking} blocking" in outputs["console"]


def test_a_missing_path_fails_the_gate(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"m.py": "x = 1\n"})
    code, text = _audit(root, "-f", "json", paths=("nonexistent",))
    assert code == 2
    assert json.loads(text)["errors"] == [
        {"path": str(root / "nonexistent"), "message": "no such file or directory"}
    ]
    assert _audit(root, "--fail-on", "singleton,error", paths=("nonexistent",))[0] == 1


def test_a_syntax_error_is_placed_where_cpython_places_it(tmp_path: Path) -> None:
    text = IMPORT + "def f():\n    return [ToolDispatcher(\n        1, 2 3)]\n"
    root = _tree(tmp_path, {"bad.py": text})
    with pytest.raises(SyntaxError) as raised:
        compile(text, "bad.py", "exec")
    error = raised.value
    code, out = _audit(root, "-f", "json")
    assert code == 2
    [reported] = json.loads(out)["errors"]
    assert reported["message"] == (
        f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
    )


def test_a_path_argument_narrows_the_report_not_name_resolution(tmp_path: Path) -> None:
    # The alias lives outside the PATH given: it must still resolve.
    root = _tree(
        tmp_path,
        {
            "conf/__init__.py": "",
            "conf/dispatch.py": IMPORT + "Dispatcher = ToolDispatcher\n",
            "urls/__init__.py": "",
            "urls/views.py": "from conf.dispatch import Dispatcher\n\nshared = Dispatcher()\n",
        },
    )
    code, out = _audit(root, "-f", "json", paths=("urls",))
    assert code == 1
    document = json.loads(out)
    assert [(f["path"], f["kind"]) for f in document["findings"]] == [
        ("urls/views.py", "singleton")
    ]


def test_help_says_what_a_path_chooses_and_when_the_gate_fails() -> None:
    text = " ".join(CliRunner().invoke(app, ["audit", "--help"]).stdout.split())
    assert "Names are always resolved over the whole project root" in text
    assert "2 when a file could not be analysed" in text
    assert "--strict" in text


# ------------------------------------------------- pull requests, in a fresh clone


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("site-in-a-file-that-does-not-parse", {"app/new.py": SINGLETON + "oops(\n"}),
        (
            "uncertain-construction",
            {"app/new.py": IMPORT + "OPTIONS = {}\nshared = ToolDispatcher(**OPTIONS)\n"},
        ),
    ],
)
def test_a_pull_request_cannot_pass_the_gate_on_what_it_hides(
    case: str, change: dict[str, str | bytes | None], tmp_path: Path
) -> None:
    clone = pull_request(tmp_path, change)
    audit = audit_clone(clone, tmp_path / "cache-home")
    assert audit.code in (1, 2), audit.stderr
    assert not audit.document["summary"]["passed"]


def test_the_victim_passes_the_gate(tmp_path: Path) -> None:
    clone = pull_request(tmp_path, {"app/other.py": "x = 1\n"})
    audit = audit_clone(clone, tmp_path / "cache-home")
    assert audit.code == 0, audit.stderr
    assert audit.document["summary"]["by_kind"]["direct-scoped"] == 1
    assert BASE["app/service.py"] in (clone / "app/service.py").read_text()
