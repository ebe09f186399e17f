"""Writes under hostile conditions (issue 15): a failed write fails `fix`, mode bits
count even for root, and a folder swapped for a symlink cannot redirect a write."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

import migrator.writer
from migrator.cli import app
from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import load_rule_set

SITE = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
    "async def handle(user_context, name):\n"
    "    dispatcher = ToolDispatcher(user_context=user_context)\n"
    "    return await dispatcher.dispatch(name)\n"
)


def _fix(root: Path) -> object:
    config = Config(root=root, cache=False, jobs=1)
    return write_changes(plan_fixes(config, load_rule_set([]), [str(root)]), root)


def test_fix_exits_non_zero_when_a_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "full.py"
    path.write_text(SITE)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(migrator.writer, "_replace_in_folder", disk_full)
    run = CliRunner().invoke(app, ["fix", "--root", str(tmp_path), "--no-cache", str(tmp_path)])
    assert run.exit_code == 2, run.output
    assert "No space left on device" in " ".join(run.output.split())
    assert path.read_text() == SITE


def test_a_file_without_write_bits_is_refused_even_for_root(tmp_path: Path) -> None:
    path = tmp_path / "ro.py"
    path.write_text(SITE)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        result = _fix(tmp_path)
        assert result.write_errors == (("ro.py", "is read-only; not written"),)  # type: ignore[attr-defined]
        assert path.read_text() == SITE
    finally:
        path.chmod(0o644)


def test_a_folder_swapped_for_a_symlink_cannot_redirect_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(SITE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mod.py").write_text(SITE)
    plan = plan_fixes(Config(root=root, cache=False, jobs=1), load_rule_set([]), [str(root)])
    sweep = migrator.writer.sweep_stale_temporaries
    calls: list[Path] = []

    def swap_then_sweep(folder: Path) -> int:
        # The last check before the write: an attacker swaps the folder for a symlink now.
        calls.append(folder)
        if len(calls) == 2:
            (root / "pkg").rename(root / "pkg-moved")
            (root / "pkg").symlink_to(outside, target_is_directory=True)
        return sweep(folder)

    monkeypatch.setattr(migrator.writer, "sweep_stale_temporaries", swap_then_sweep)
    result = write_changes(plan, root)
    assert len(calls) == 2
    assert (outside / "mod.py").read_text() == SITE
    assert sorted(p.name for p in outside.iterdir()) == ["mod.py"]
    assert [path for path, _ in result.write_errors] == ["pkg/mod.py"]
