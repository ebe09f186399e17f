"""What the output streams are: a terminal or not, coloured or not.

One place decides, so that every command reads `NO_COLOR` and `FORCE_COLOR`
the same way (https://no-color.org, https://force-color.org): either variable
counts when it is set and not empty; `NO_COLOR` wins when both are set, as in
Rich. Colour is a question of escape codes only: whether stdout is a terminal
decides the layout (`--format console`), `FORCE_COLOR` does not.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

#: Width of a table written to a file or a pipe when COLUMNS does not say.
DEFAULT_WIDTH = 120


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def wants_colour(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    return is_terminal(stream)


def width(stream: IO[str]) -> int:
    """The terminal's width, else COLUMNS, else DEFAULT_WIDTH."""
    if is_terminal(stream):
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        if columns > 0:
            return columns
    try:
        return max(20, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return DEFAULT_WIDTH


def console(stderr: bool = False) -> Console:
    """A Rich console on stdout or stderr whose colour follows `wants_colour`.

    Rich reads the two variables itself, but its rules differ between versions;
    here they are passed explicitly, so every Rich from our lower bound agrees.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    colour = wants_colour(stream)
    return Console(
        stderr=stderr,
        highlight=False,
        # A terminal without colour still gets live progress bars and its width.
        force_terminal=colour or is_terminal(stream),
        no_color=not colour,
        color_system="auto" if colour else None,
        width=None if is_terminal(stream) else width(stream),
    )


#: Line prefixes and their colours, longest first: `---` is a header, `-` a removed line.
_DIFF_STYLES = (
    ("+++", "\x1b[1m"),
    ("---", "\x1b[1m"),
    ("@@", "\x1b[36m"),
    ("+", "\x1b[32m"),
    ("-", "\x1b[31m"),
)
_RESET = "\x1b[0m"


def colour_diff(text: str) -> str:
    """A unified diff with ANSI colours added at line starts, and not one character changed.

    Rich's `Syntax` crops each line at the terminal's width and expands tabs, so
    the patch on screen was not the patch; this only adds escape codes.
    """
    out: list[str] = []
    # Split on "\n" only: str.splitlines would also split at a form feed inside a line.
    for line in text.split("\n"):
        body = line[:-1] if line.endswith("\r") else line
        code = next((c for prefix, c in _DIFF_STYLES if body.startswith(prefix)), None)
        out.append(f"{code}{body}{_RESET}{line[len(body) :]}" if code else line)
    return "\n".join(out)
