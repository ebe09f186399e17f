"""`fix --interactive` on a real pseudo-terminal: one question per site, apply / skip / quit."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_in_terminal

SOURCE = """\
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def first(user_context):
    dispatcher = ToolDispatcher(user_context=user_context)
    return dispatcher


async def second(user_context):
    other = ToolDispatcher(user_context=user_context)
    return other


async def third(user_context):
    last = ToolDispatcher(user_context=user_context)
    return last
"""

PROMPT = b"apply this site?"


def _run(root: Path, answers: list[str]) -> tuple[int, str]:
    return run_in_terminal(
        ["fix", "--no-cache", "--interactive", "."],
        root,
        columns=120,
        answers=tuple(answers),
        prompt=PROMPT,
    )


def test_apply_skip_quit_one_site_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(SOURCE, encoding="utf-8")
    code, screen = _run(tmp_path, ["a", "s", "q"])
    assert code == 0, screen
    assert screen.count("apply this site?") == 3
    assert "1/3" in screen and "3/3" in screen
    text = (tmp_path / "handlers.py").read_text(encoding="utf-8")
    assert (
        "dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context=user_context)"
        in text
    )
    assert "other = ToolDispatcher(user_context=user_context)" in text
    assert "last = ToolDispatcher(user_context=user_context)" in text
    compile(text, "handlers.py", "exec")


def test_quit_at_once_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(SOURCE, encoding="utf-8")
    code, screen = _run(tmp_path, ["q"])
    assert code == 0, screen
    assert (tmp_path / "handlers.py").read_text(encoding="utf-8") == SOURCE
