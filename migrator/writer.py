"""The one writer: rewritten sources, reports, diffs, baselines and cache entries.

A regular file is replaced atomically: the new bytes go to a temporary file in the
same folder (same file system), are flushed to disk, get their permission bits, and
replace the old file with one `os.replace`, so a reader (or a crash, or SIGKILL)
sees either the old file or the new one, never a mix.

Anything that is not a regular file is never replaced. `write_document` (reports,
diffs, baselines named by `--output` and `--write-baseline`) writes straight
through to a device, a FIFO or `-` (stdout), and through a symlink to its target:
renaming a temporary file over `/dev/null` as root once turned it into a regular
file for every user of the machine. `write_atomic` (a rewritten source) refuses
anything but a regular file inside the root.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
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


def _new_file_mode() -> int:
    """The mode `open()` gives a new file under the current umask (mkstemp gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def replace_atomically(
    path: Path, data: bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace the regular file `path` (or create it) with `data` in one rename.

    `mode` is the new file's permission bits: by default those of the file it replaces, or
    what a new file gets under the umask. `durable` flushes the bytes to disk before the
    rename (a cache entry that a crash loses is only a miss, so the cache skips it).
    Raises OSError; the temporary file never outlives a failure.
    """
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = _new_file_mode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


_STREAM_NAMES = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}
_FD_FOLDERS = ("/dev/fd/", "/proc/self/fd/")


def _stream_fd(path: Path) -> int | None:
    """The open file descriptor `path` names (`-`, /dev/stdout, /dev/fd/N …), if it names one.

    Such a path is the process's own stream: it is written on the descriptor already
    open, never reopened. Reopening /dev/stdout when it is a pipe fails (its link points
    to `pipe:[…]`), and when the shell redirected it to a file, opening truncates what
    was written before (`>> ci.log`) or replacing it loses the rest of the file.
    """
    text = str(path)
    if text in _STREAM_NAMES:
        return _STREAM_NAMES[text]
    for folder in _FD_FOLDERS:
        if text.startswith(folder) and text[len(folder) :].isdigit():
            return int(text[len(folder) :])
    return None


def _write_fd(fd: int, data: bytes) -> None:
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd)
    if stream is not None:
        stream.flush()  # keep the order of what Python already wrote to it
        stream.buffer.write(data)
        stream.buffer.flush()
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_document(path: Path, data: bytes) -> None:
    """Write a report, diff or baseline to `path` as a user named it on the command line.

    `-`, `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` are the process's open streams,
    written in place. A symlink is followed to its target. A target that exists and is
    not a regular file (`/dev/null`, a FIFO, a terminal) is opened and written through,
    never replaced. A regular file, or a new one, is replaced atomically: an existing
    file keeps its mode, a new one gets the umask's. Missing parent folders are created.
    Raises OSError with the path in it.
    """
    fd = _stream_fd(path)
    if fd is not None:
        _write_fd(fd, data)
        return
    try:
        status: os.stat_result | None = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        status = None
    if status is not None and not stat.S_ISREG(status.st_mode):
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        with open(path, "wb") as handle:
            handle.write(data)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, data)


class WriteRefused(Exception):
    """The file was not written; the message says why, for people."""


def create_atomic(path: Path, data: bytes, *, root: Path) -> None:
    """Create `path` (and missing folders inside `root`) with `data`; never replaces a file."""
    root = root.resolve()
    real = path.parent.resolve() / path.name
    if real.parent != root and root not in real.parent.parents:
        raise WriteRefused("resolves outside the repository root (symlink?); not written")
    if os.path.lexists(path):
        raise WriteRefused("was created after it was analysed; not written (run fix again)")
    real.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(real.parent)
    fd, temporary = tempfile.mkstemp(dir=real.parent, prefix=_temp_prefix(), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, _new_file_mode())
        # A hard link fails when the name exists: a file created meanwhile is never replaced.
        os.link(temporary, real)
    except FileExistsError:
        raise WriteRefused(
            "was created after it was analysed; not written (run fix again)"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


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
    # As root `os.access` says yes to every file: the mode bits say whether it is meant to change.
    if not os.access(real, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise WriteRefused("is read-only; not written")
    if not stat.S_ISREG(real.stat().st_mode):
        raise WriteRefused("is not a regular file; not written")
    sweep_stale_temporaries(real.parent)
    try:
        folder = _open_folder_inside(root, real.parent)
    except OSError:
        raise WriteRefused("resolves outside the repository root (symlink?); not written") from None
    try:
        _replace_in_folder(folder, real.name, data, mode)
    except OSError as error:
        raise WriteRefused(f"write failed: {error.strerror}; the original is unchanged") from None
    finally:
        os.close(folder)


def _open_folder_inside(root: Path, folder: Path) -> int:
    """A descriptor of `folder`, opened one component at a time from `root`, following no symlink.

    The checks above look at paths; a folder swapped for a symlink between them and the
    write would redirect a path-based write outside the root. Everything after this
    works relative to the descriptor, so a later swap of any component changes nothing.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(root, flags)
    try:
        for part in folder.relative_to(root).parts:
            inner = os.open(part, flags, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _replace_in_folder(folder: int, name: str, data: bytes, mode: int) -> None:
    """`replace_atomically`, relative to an open folder: temporary file, fsync, rename."""
    temporary = f"{_temp_prefix()}{os.urandom(6).hex()}{TEMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
