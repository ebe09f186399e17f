"""What `migrator fix` shows: whole patches on any terminal, colour as asked, no silent --output.

The terminal cases run the real command on a pseudo-terminal of a given width;
the others run the Typer app in-process, where stdout is not a terminal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.helpers import run_in_terminal, strip_ansi

# One site whose rewritten line is far wider than the 40-column terminal, and a tab
# inside a string: the patch on screen must be the patch, character for character.
SOURCE = """\
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def answer_the_question_with_a_long_name(user_context, question_text_that_is_long):
    dispatcher = ToolDispatcher(user_context)
    return await dispatcher.dispatch("answer\tnow", question=question_text_that_is_long)
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(SOURCE, encoding="utf-8")
    return tmp_path


def _plain_diff(tree: Path) -> str:
    result = CliRunner().invoke(
        app, ["fix", "--diff", "--no-cache", "--root", str(tree), str(tree)]
    )
    assert result.exit_code == 0, result.output
    assert "create_scoped_context" in result.stdout
    assert "\x1b[" not in result.stdout
    return result.stdout


def test_diff_on_a_narrow_terminal_is_the_whole_patch(tree: Path) -> None:
    plain = _plain_diff(tree)
    assert max(len(line) for line in plain.splitlines()) > 80
    code, screen = run_in_terminal(["fix", "--diff", "--no-cache", "."], tree, columns=40)
    assert code == 0, screen
    assert "\x1b[" in screen  # coloured, since this is a terminal
    assert plain in strip_ansi(screen), screen


def test_no_color_on_a_terminal_prints_the_patch_without_escape_codes(tree: Path) -> None:
    plain = _plain_diff(tree)
    code, screen = run_in_terminal(
        ["fix", "--diff", "--no-cache", "."], tree, columns=40, env={"NO_COLOR": "1"}
    )
    assert code == 0, screen
    assert "\x1b[3" not in screen and "\x1b[1m" not in screen, screen
    assert plain in screen


def test_force_color_colours_a_piped_patch_and_keeps_its_text(tree: Path) -> None:
    plain = _plain_diff(tree)
    result = CliRunner().invoke(
        app,
        ["fix", "--diff", "--no-cache", "--root", str(tree), str(tree)],
        env={"FORCE_COLOR": "1", "NO_COLOR": None},
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[32m+" in result.stdout and "\x1b[31m-" in result.stdout
    assert strip_ansi(result.stdout) == plain


def test_interactive_shows_the_whole_patch_of_each_site(tree: Path) -> None:
    plain = _plain_diff(tree)
    long_lines = [line for line in plain.splitlines() if len(line) > 40 and line[:1] in "+-"]
    assert long_lines
    code, screen = run_in_terminal(
        ["fix", "--no-cache", "--interactive", "."],
        tree,
        columns=40,
        answers=("s",),
        prompt=b"apply this site?",
    )
    assert code == 0, screen
    shown = strip_ansi(screen)
    for line in long_lines:
        assert line in shown, shown
    assert "handlers.py:5" in shown
    assert (tree / "handlers.py").read_text(encoding="utf-8") == SOURCE


@pytest.mark.parametrize("option", ["--output", "-o"])
def test_output_without_diff_is_a_usage_error_that_writes_nothing(tree: Path, option: str) -> None:
    target = tree / "x.diff"
    result = CliRunner().invoke(
        app, ["fix", "--no-cache", "--root", str(tree), option, str(target), str(tree)]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--diff" in lines[0] and str(target) in lines[0], result.stderr
    assert not target.exists()
    assert (tree / "handlers.py").read_text(encoding="utf-8") == SOURCE


def test_output_with_diff_writes_the_patch(tree: Path) -> None:
    plain = _plain_diff(tree)
    target = tree / "x.diff"
    result = CliRunner().invoke(
        app, ["fix", "--diff", "--no-cache", "--root", str(tree), "-o", str(target), str(tree)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == plain
    assert (tree / "handlers.py").read_text(encoding="utf-8") == SOURCE
