"""Test helpers: run an audit of a folder in-process with the default configuration."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from migrator.config import Config
from migrator.engine import Analysis, analyse
from migrator.rules import load_rule_set

REPO = Path(__file__).resolve().parent.parent


def audit_tree(
    root: Path, paths: list[str] | None = None, rules: list[str] | None = None, **config: object
) -> Analysis:
    settings = Config(root=root, cache=False, jobs=1).with_overrides(**config)
    return analyse(settings, load_rule_set(rules or []), [str(root / p) for p in (paths or ["."])])


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def run_in_terminal(
    argv: list[str],
    cwd: Path,
    *,
    columns: int = 80,
    env: dict[str, str] | None = None,
    answers: tuple[str, ...] = (),
    prompt: bytes = b"?",
) -> tuple[int, str]:
    """Run `python -m migrator ARGV` on a real pseudo-terminal COLUMNS wide.

    Returns the exit code and what the terminal received, with its line ends
    turned back into "\\n". Each answer is typed after the next `prompt`.
    """
    master, slave = os.openpty()
    # The terminal's own size, as a person's window has it: COLUMNS is not set.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    clean = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES"}}
    clean.pop("NO_COLOR", None)
    clean.pop("FORCE_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "migrator", *argv],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**clean, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", **(env or {})},
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if pending and seen.count(prompt) > len(answers) - len(pending):
                os.write(master, (pending.pop(0) + "\n").encode())
        elif process.poll() is not None:
            break
    code = process.wait(timeout=30)
    os.close(master)
    return code, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def undefined_names(source: bytes, filename: str) -> set[str]:
    """Names pyflakes reports as undefined in `source` (one entry per name)."""
    from pyflakes import api, messages
    from pyflakes.reporter import Reporter

    found: set[str] = set()

    class _Collect(Reporter):  # type: ignore[misc]
        def __init__(self) -> None:
            pass

        def flake(self, message: object) -> None:
            if isinstance(message, (messages.UndefinedName, messages.UndefinedExport)):
                found.add(str(message.message_args[0]))  # type: ignore[attr-defined]

        def syntaxError(self, *args: object) -> None:
            found.add("<syntax error>")

        def unexpectedError(self, *args: object) -> None:
            found.add("<unexpected error>")

    api.check(source.decode("utf-8-sig"), filename, _Collect())
    return found


def new_undefined_names(before: bytes, after: bytes, filename: str) -> list[str]:
    """Undefined names the rewrite introduced (pyflakes), sorted."""
    return sorted(undefined_names(after, filename) - undefined_names(before, filename))
