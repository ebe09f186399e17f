"""Write a rewritten file safely: inside the root, unchanged since analysis, atomically.

The new bytes go to a temporary file in the same folder (same file system), are
flushed to disk, get the original's permission bits, and replace the original
with one `os.replace`, so a reader (or a crash, or SIGKILL) sees either the old
file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

TEMP_PREFIX = ".migrator-"
TEMP_SUFFIX = ".tmp"


def _temp_prefix() -> str:
    """`.migrator-<pid>-`: the pid lets a later run tell a killed run's leftovers from a live run's."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def sweep_stale_temporaries(folder: Path) -> int:
    """Remove temporary files left in `folder` by a writer that was killed (SIGKILL, power cut).

    Only files named by this writer (`.migrator-<pid>-*.tmp`) whose process is gone are
    removed; a concurrent run's files are left alone. Returns the count removed.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
            continue
        pid_text = name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            os.unlink(entry.path)
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class WriteRefused(Exception):
    """The file was not written; the message says why, for people."""


def write_atomic(path: Path, data: bytes, *, root: Path, expected: bytes) -> None:
    root = root.resolve()
    real = path.resolve()
    if real != root and root not in real.parents:
        raise WriteRefused("resolves outside the repository root (symlink?); not written")
    if path.is_symlink():
        # Writing through a symlink would replace the link itself; edit the target's path instead.
        raise WriteRefused("is a symlink; not written (run fix on the file it points to)")
    try:
        current = real.read_bytes()
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        raise WriteRefused("was deleted after it was analysed; not written") from None
    except OSError as error:
        raise WriteRefused(f"cannot read before writing: {error.strerror}") from None
    if current != expected:
        raise WriteRefused("changed on disk after it was analysed; not written (run fix again)")
    if not os.access(real, os.W_OK):
        raise WriteRefused("is read-only; not written")
    directory = real.parent
    sweep_stale_temporaries(directory)
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=_temp_prefix(), suffix=TEMP_SUFFIX)
    except OSError as error:
        raise WriteRefused(
            f"cannot create a temporary file in its folder: {error.strerror}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise WriteRefused(
                f"write failed: {error.strerror}; the original is unchanged"
            ) from None
        raise
