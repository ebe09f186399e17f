"""Hostile inputs: each is reported with a clear message and never crashes or half-writes.

Each test builds a small tree in a temporary folder, runs the engine (or `fix`)
in-process, and checks the message a person would read.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import load_rule_set
from migrator.writer import WriteRefused, write_atomic
from tests.helpers import audit_tree

SITE = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
    "async def handle(user_context, name):\n"
    "    dispatcher = ToolDispatcher(user_context=user_context)\n"
    "    return await dispatcher.dispatch(name)\n"
)


def _errors(root: Path, **config: object) -> dict[str, str]:
    result = audit_tree(root, **config).result
    return {error.path: error.message for error in result.errors}


def _fix(root: Path) -> object:
    config = Config(root=root, cache=False, jobs=1)
    return plan_fixes(config, load_rule_set([]), [str(root)])


def test_syntax_error_is_reported_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "from x import ToolDispatcher\ndef f(:\n    ToolDispatcher()\n"
    )
    message = _errors(tmp_path)["broken.py"]
    assert message.startswith("syntax error at line ")


def test_null_bytes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "nul.py").write_bytes(b"ToolDispatcher()\x00\n")
    assert "null bytes" in _errors(tmp_path)["nul.py"]


def test_invalid_utf8_names_the_byte_and_offset(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_bytes(b"x = 'ToolDispatcher \xff'\n")
    message = _errors(tmp_path)["bad.py"]
    assert "not valid utf-8" in message and "0xff" in message and "coding declaration" in message


def test_latin1_with_coding_cookie_is_audited_and_fixed_in_latin1(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\n# café\n" + SITE
    path = tmp_path / "latin.py"
    path.write_bytes(text.encode("latin-1"))
    result = audit_tree(tmp_path).result
    assert not result.errors
    assert [f.kind.value for f in result.findings] == ["direct-scoped"]
    plan = _fix(tmp_path)
    written = write_changes(plan, tmp_path)  # type: ignore[arg-type]
    assert written.written == ("latin.py",)
    data = path.read_bytes()
    assert "# café".encode("latin-1") in data  # still Latin-1, not re-encoded as UTF-8
    assert data.decode("latin-1").count("create_scoped_context") == 1


def test_huge_generated_file_is_skipped_with_the_limit_named(tmp_path: Path) -> None:
    line = b"value = ToolDispatcher  # padding padding padding padding padding padding\n"
    (tmp_path / "huge.py").write_bytes(line * (50_000_000 // len(line) + 1))
    message = _errors(tmp_path)["huge.py"]
    assert "over the 10,000,000-byte limit" in message and "max_file_bytes" in message


def test_deeply_nested_expression_is_reported_not_a_crash(tmp_path: Path) -> None:
    depth = 5000
    (tmp_path / "deep.py").write_text(
        "from m import ToolDispatcher\nx = " + "(" * depth + "ToolDispatcher()" + ")" * depth + "\n"
    )
    message = _errors(tmp_path)["deep.py"]
    assert "nested" in message or "syntax error" in message


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_loop_is_reported_once_and_the_walk_ends(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(SITE)
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")
    result = audit_tree(tmp_path).result
    assert len(result.findings) == 1
    assert any("symlink loop" in e.message for e in result.errors)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_outside_the_root_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SITE)
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.py", root / "file.py")
    errors = _errors(root)
    assert "outside the repository root" in errors["link"]
    assert "outside the repository root" in errors["file.py"]
    assert not audit_tree(root).result.findings


IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
#: As root the kernel ignores permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH);
#: dropping those capabilities makes it enforce them, so the tests below are real for root too.
WITHOUT_DAC = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


def _migrator_without_permissions(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.conftest import REPO

    prefix = WITHOUT_DAC if IS_ROOT else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "migrator", *args, "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text(SITE)
    (tmp_path / "ok.py").write_text(SITE)
    path.chmod(0)
    try:
        run = _migrator_without_permissions(tmp_path, "audit", "--format", "json")
        document = json.loads(run.stdout)
        errors = {e["path"]: e["message"] for e in document["errors"]}
        assert "cannot read" in errors["secret.py"] or "permission denied" in errors["secret.py"]
        assert [f["path"] for f in document["findings"]] == ["ok.py"]
    finally:
        path.chmod(0o644)


def test_read_only_file_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "ro.py"
    path.write_text(SITE)
    (tmp_path / "rw.py").write_text(SITE)
    original = path.read_bytes()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        run = _migrator_without_permissions(tmp_path, "fix")
        # A file that was meant to change and was not fails the run (issue 15).
        assert run.returncode == 2, run.stderr
        assert "ro.py: is read-only; not written" in " ".join(run.stderr.split())
        assert path.read_bytes() == original
        assert "create_scoped_context" in (tmp_path / "rw.py").read_text()
    finally:
        path.chmod(0o644)


def test_read_only_file_keeps_its_mode_through_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "mode.py"
    path.write_text(SITE)
    path.chmod(0o640)
    write_changes(_fix(tmp_path), tmp_path)  # type: ignore[arg-type]
    assert "create_scoped_context" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_file_changed_between_analysis_and_write_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "moving.py"
    path.write_text(SITE)
    plan = _fix(tmp_path)
    path.write_text(SITE + "# edited by a person meanwhile\n")
    result = write_changes(plan, tmp_path)  # type: ignore[arg-type]
    assert result.written == ()
    assert "changed on disk after it was analysed" in dict(result.write_errors)["moving.py"]
    assert path.read_text().endswith("# edited by a person meanwhile\n")


def test_file_deleted_between_analysis_and_write_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gone.py"
    path.write_text(SITE)
    plan = _fix(tmp_path)
    path.unlink()
    result = write_changes(plan, tmp_path)  # type: ignore[arg-type]
    assert "deleted after it was analysed" in dict(result.write_errors)["gone.py"]
    assert not path.exists()
    assert not list(tmp_path.glob(".migrator-*"))


def test_write_through_symlink_leaving_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    root = tmp_path / "repo"
    root.mkdir()
    os.symlink(outside, root / "link.py")
    with pytest.raises(WriteRefused, match="outside the repository root"):
        write_atomic(root / "link.py", b"y = 2\n", root=root, expected=b"x = 1\n")
    assert outside.read_text() == "x = 1\n"


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(SITE)
    (tmp_path / "bad.py").write_bytes(b"\xff\xfe ToolDispatcher")
    result = audit_tree(tmp_path).result
    assert [f.path for f in result.findings] == ["good.py"]
    assert [e.path for e in result.errors] == ["bad.py"]
