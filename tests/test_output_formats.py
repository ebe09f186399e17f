"""Output for people, editors and logs: the registry of formats, the kinds' table, concise, full.

Each command runs for real: in-process with `typer.testing.CliRunner` (stdout is
not a terminal there) or, where the terminal matters, as a subprocess on a
pseudo-terminal of a given width.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.style import Style
from typer.testing import CliRunner

from migrator.cli import app
from migrator.model import KIND_ORDER, Kind
from migrator.reports.formats import FORMATS, names
from migrator.reports.kinds import KINDS
from tests.helpers import run_in_terminal, strip_ansi

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "tests" / "data" / "report_app"
TODAY = "2026-01-15"

CONCISE = re.compile(
    r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<kind>[a-z-]+)\[(?P<rule>[a-z0-9-]+)\] "
    r"`(?P<callee>[^`]+)` in (?P<where>[^:]+): (?P<why>.+) \((?P<plan>[a-z-]+(: [a-z:_-]+)?)\)"
    r"(?: \((?P<state>blocking|expired|baselined|suppressed)\))?$"
)


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", TODAY)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def audit(*args: str, root: Path = APP, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["audit", str(root), "--root", str(root), "--no-cache", *args], env=env
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


# ------------------------------------------------------------------- the kinds


def test_every_kind_has_words_a_style_and_a_colour() -> None:
    assert set(KINDS) == set(Kind)
    assert sorted(KIND_ORDER) == sorted(Kind) and len(KIND_ORDER) == len(Kind)
    for kind, look in KINDS.items():
        for field in ("title", "short", "full", "guidance"):
            assert getattr(look, field).strip(), f"{kind}: empty {field}"
        Style.parse(look.style)  # raises on a style Rich does not know
        assert re.fullmatch(r"#[0-9a-f]{6}", look.colour), f"{kind}: {look.colour}"
    assert len({look.colour for look in KINDS.values()}) == len(Kind)


def test_the_kinds_words_fit_any_pack() -> None:
    """A pack may target a database client: the words never assume a dispatcher."""
    for kind, look in KINDS.items():
        words = " ".join((look.title, look.short, look.full, look.guidance))
        assert not re.search(r"dispatcher|UnifiedTool|user_context\b", words, re.I), kind


def test_every_place_that_colours_a_kind_reads_the_table() -> None:
    from migrator.reports.progress.svg import COLORS

    assert {kind: look.colour for kind, look in KINDS.items()} == COLORS


# ----------------------------------------------------------------- the registry


def _choices(help_text: str) -> list[str]:
    match = re.search(r"--format <([a-z|]+)>", help_text)
    assert match, help_text
    return match.group(1).split("|")


@pytest.mark.parametrize(
    ("argv", "document", "merge"),
    [
        (["audit"], "audit", False),
        (["report"], "progress", False),
        (["report", "merge"], "audit", True),
    ],
    ids=["audit", "report", "report-merge"],
)
def test_format_choices_and_their_help_come_from_the_registry(
    argv: list[str], document: str, merge: bool
) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    expected = names(document, merge=merge)  # type: ignore[arg-type]
    assert _choices(result.stdout) == expected
    flat = " ".join(result.stdout.split())
    for entry in FORMATS:
        if entry.document == document and (entry.merge or not merge):
            assert f"{entry.name}: {' '.join(entry.help.split())}" in flat


def test_an_unknown_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["audit", str(APP), "-f", "table"])
    assert result.exit_code == 2
    assert "concise" in result.stderr


@pytest.mark.parametrize(
    "name", [f.name for f in FORMATS if f.document == "audit"], ids=lambda n: n
)
def test_every_audit_format_renders(name: str) -> None:
    code, text = audit("-f", name)
    assert code == 1
    assert "create_tool_dispatcher" in text  # a site of the tree, in every format


# ------------------------------------------------------------------- concise


def test_concise_is_one_clickable_line_per_site_then_the_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(APP / "shop")  # paths are relative to the current folder
    document = json.loads(audit("-f", "json")[1])
    code, text = audit("-f", "concise")
    assert code == 1
    lines = text.splitlines()
    sites = [CONCISE.match(line) for line in lines if not line.startswith("warning: ")][:-1]
    assert all(sites), text
    expected = sorted(
        (f["path"], f["line"], f["column"] + 1, f["kind"], f["rule"], f["callee"])
        for f in document["findings"]
        if f["kind"] != "migrated"
    )
    shown = []
    for match in sites:
        assert match is not None
        path = match["path"]
        absolute = (APP / "shop" / path) if not path.startswith("/") else Path(path)
        assert absolute.is_file(), path
        shown.append(
            (
                absolute.relative_to(APP).as_posix(),
                int(match["line"]),
                int(match["col"]),
                match["kind"],
                match["rule"],
                match["callee"],
            )
        )
    assert sorted(shown) == expected
    # Inside the current folder the path is relative; outside it, absolute.
    assert "agents/checkout.py:7:10: singleton[unified-tool-dispatcher]" in text
    assert f"{APP.as_posix()}/billing/invoices.py:10:12: uncertain" in text
    assert "(manual: not-async) (expired)" in text
    assert lines[-1].startswith("19 site(s) in 7 of 10 file(s) scanned: 10 blocking")


def test_the_default_format_off_a_terminal_is_concise() -> None:
    assert audit()[1] == audit("-f", "concise")[1]
    assert audit("-f", "console")[1] == audit("-f", "concise")[1]


def test_concise_columns_are_json_columns_plus_one() -> None:
    (finding,) = [
        f
        for f in json.loads(audit("-f", "json")[1])["findings"]
        if f["callee"] == "create_tool_dispatcher"
    ]
    assert finding["column"] == 13  # 0-based in JSON, as the contract says
    assert ":4:14: legacy-factory[legacy-create-tool-dispatcher]" in audit("-f", "concise")[1]


# ---------------------------------------------------------------------- full


LONG = "a_package_name_long_enough_to_need_wrapping/and_a_module_name_that_goes_on_and_on.py"
LONG_SOURCE = """\
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def handle(user_context):
    done = await UnifiedToolDispatcherFactory.create_request_scoped(user_context=user_context)
    scoped = ToolDispatcher(user_context=user_context)
    return done, scoped


def job():
    return ToolDispatcher()
"""


@pytest.fixture
def long_tree(tmp_path: Path) -> Path:
    target = tmp_path / LONG
    target.parent.mkdir(parents=True)
    target.write_text(LONG_SOURCE, encoding="utf-8")
    return tmp_path


def test_on_a_terminal_the_default_is_full_and_cuts_nothing(long_tree: Path) -> None:
    code, screen = run_in_terminal(["audit", "--no-cache", "."], long_tree, columns=64)
    assert code == 1, screen
    assert "\x1b[" in screen  # a terminal gets colour
    # The progress bar on stderr erases itself with escape codes; drop what it wrote.
    text = re.sub(r"(reading files|analysing) [━╸╺ ]*\d+/\d+", "", strip_ansi(screen))
    assert "…" not in text, text
    lines = text.splitlines()
    header = lines.index(next(line for line in lines if line.lstrip().startswith("line:col")))
    assert "".join(line.strip() for line in lines[:header]) == LONG  # folded, whole
    assert max(len(line) for line in lines) <= 64
    flat = " ".join(text.split())
    assert "UnifiedToolDispatcherFactory.create_request_scoped" in "".join(text.split())
    # 1-based columns, as editors count; and each plan explained in a sentence.
    assert re.search(r"\b7:14\s+direct-scoped", text), text
    assert re.search(r"\b12:12\s+singleton", text), text
    assert "The enclosing function is not async" in flat
    assert "factory — Replace with `await" in flat


def test_no_color_on_a_terminal(long_tree: Path) -> None:
    code, screen = run_in_terminal(
        ["audit", "--no-cache", "."], long_tree, columns=100, env={"NO_COLOR": "1"}
    )
    assert code == 1, screen
    assert not re.search(r"\x1b\[[0-9;]*m", screen), screen
    assert "line:col" in screen  # still the terminal's table


def test_force_color_colours_a_pipe_but_never_a_file(tmp_path: Path) -> None:
    _, text = audit(env={"FORCE_COLOR": "1"})
    assert "\x1b[" in text
    assert strip_ansi(text) == audit("-f", "concise")[1]
    out = tmp_path / "audit.txt"
    audit("-f", "full", "-o", str(out), env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in out.read_text(encoding="utf-8")


def test_full_in_a_file_has_no_trailing_blanks_and_every_name_whole(tmp_path: Path) -> None:
    out = tmp_path / "audit.txt"
    audit("-f", "full", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert not [line for line in text.splitlines() if line != line.rstrip()]
    assert "…" not in text
    assert "UnifiedToolDispatcherFactory.create_request_scoped" in text


def test_report_console_folds_long_paths_and_leaves_no_trailing_blanks(long_tree: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["report", str(long_tree), "--root", str(long_tree), "--no-cache"],
        env={"COLUMNS": "72"},
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text, text
    assert not [line for line in text.splitlines() if line != line.rstrip()]
    assert max(len(line) for line in text.splitlines()) <= 72
    table = text[text.index("Files with the most sites") :]
    cells = "".join(line.split("│")[0].strip() for line in table.splitlines()[3:6])
    assert LONG in cells, table
