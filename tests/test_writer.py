"""The one writer of reports, diffs and baselines respects what is at the path.

`--output` and `--write-baseline` once renamed a temporary file over whatever was
there: run as root with `--output /dev/null`, that turned the device into a regular
file for everyone on the machine. Each case here runs the real command.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app

APP = Path(__file__).resolve().parent.parent / "fixtures" / "legacy_app"


def _run(*args: str) -> int:
    return CliRunner().invoke(app, list(args)).exit_code


def _reader(fifo: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as handle:
            into.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["audit", str(APP), "--format", "json", "--output"], id="audit-output"),
        pytest.param(["audit", str(APP), "--write-baseline"], id="write-baseline"),
        pytest.param(["fix", str(APP), "--diff", "--output"], id="fix-diff-output"),
        pytest.param(["report", str(APP), "--format", "json", "--output"], id="report-output"),
    ],
)
def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    thread = _reader(fifo, received)
    _run(*command, str(fifo))
    thread.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].strip(), "the reader got nothing"


def test_a_character_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        device = Path("/dev/null")  # not root: the real one cannot be replaced by us anyway
    assert _run("audit", str(APP), "--output", str(device)) == 1
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    _run("audit", str(APP), "--write-baseline", str(device))
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    _run("audit", str(APP), "--format", "json", "--output", str(link))
    assert link.is_symlink()
    assert '"schema"' in target.read_text()


def test_new_files_get_the_umask_mode_and_existing_files_keep_theirs(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        baseline = tmp_path / "baseline.json"
        _run("audit", str(APP), "--write-baseline", str(baseline))
        assert stat.S_IMODE(baseline.stat().st_mode) == 0o644
        assert '"entries"' in baseline.read_text()
        report = tmp_path / "kept.json"
        report.write_text("{}")
        report.chmod(0o600)
        _run("audit", str(APP), "--format", "json", "--output", str(report))
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
        assert '"schema"' in report.read_text()
    finally:
        os.umask(old)


def test_a_folder_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", str(APP), "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path) in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _installed_or_module() -> list[str]:
    return [sys.executable, "-m", "migrator"]


@pytest.mark.parametrize("name", ["/dev/stdout", "-"])
def test_dev_stdout_appends_to_a_redirected_file_and_works_on_a_pipe(
    tmp_path: Path, name: str
) -> None:
    log = tmp_path / "ci.log"
    log.write_text("earlier line\n")
    command = [*_installed_or_module(), "audit", str(APP), "--no-cache", "-f", "json", "-o", name]
    with open(log, "ab") as handle:
        subprocess.run(command, stdout=handle, check=False)
    text = log.read_text()
    assert text.startswith("earlier line\n")
    assert '"schema"' in text
    piped = subprocess.run(command, capture_output=True, check=False)
    assert piped.returncode == 1, piped.stderr
    assert b'"schema"' in piped.stdout
