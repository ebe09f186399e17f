"""Every output format, listed once: the CLI's `--format` choices and help come from here.

A format of the `audit` document renders an `AuditResult` seen through a
`View` to text: its module has `render(result: AuditResult, view: View) -> str`
and is imported only when chosen (so `--help` stays fast). Formats of the
`progress` document render `migrator report`'s `ProgressReport`. Adding a
format means writing its module and adding one row to `FORMATS`; the tests
check that every row renders and has a golden file.

`console` is not a renderer: it is `full` when the output is a terminal and
`concise` otherwise (a file, a pipe, a CI log), see `resolve`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from migrator.model import Kind

if TYPE_CHECKING:
    from migrator.model import AuditResult
    from migrator.rules import RulePack

Document = Literal["audit", "progress"]


@dataclass(frozen=True)
class Format:
    name: str
    document: Document
    #: One line for `--help`.
    help: str
    #: The module that renders it; empty for `console`, which picks another format.
    module: str
    #: Whether `migrator report merge` offers it too (merged shards are an audit result).
    merge: bool = False


FORMATS: tuple[Format, ...] = (
    Format(
        "console",
        "audit",
        "full on a terminal, concise otherwise (the default)",
        "",
    ),
    Format(
        "full",
        "audit",
        "a table per file that explains each site's plan, wrapped to the width, never cut",
        "migrator.reports.console",
    ),
    Format(
        "concise",
        "audit",
        "one `path:line:col: kind[rule] message (plan)` line per site (1-based columns, "
        "paths relative to the current folder), then the summary: for editors and CI logs",
        "migrator.reports.concise",
        merge=True,
    ),
    Format(
        "json",
        "audit",
        "the migrator.audit/1 document (columns 0-based, as LibCST counts)",
        "migrator.reports.json_report",
        merge=True,
    ),
    Format("sarif", "audit", "SARIF 2.1.0 for code scanning", "migrator.reports.sarif", merge=True),
    Format("junit", "audit", "JUnit XML for CI test tabs", "migrator.reports.junit", merge=True),
    Format(
        "github",
        "audit",
        "GitHub Actions annotations on the pull request",
        "migrator.reports.github",
        merge=True,
    ),
    Format(
        "markdown",
        "audit",
        "a pull-request comment or job summary",
        "migrator.reports.markdown",
        merge=True,
    ),
    Format("console", "progress", "Rich tables and bars", "migrator.reports.progress.console"),
    Format("markdown", "progress", "Markdown", "migrator.reports.progress.markdown"),
    Format(
        "html",
        "progress",
        "one self-contained page with charts and a sortable table",
        "migrator.reports.progress.html",
    ),
    Format(
        "json", "progress", "the migrator.report/1 document", "migrator.reports.progress.json_doc"
    ),
)


def formats(document: Document, *, merge: bool = False) -> tuple[Format, ...]:
    return tuple(f for f in FORMATS if f.document == document and (f.merge or not merge))


def names(document: Document, *, merge: bool = False) -> list[str]:
    return [f.name for f in formats(document, merge=merge)]


def choices(document: Document, *, merge: bool = False) -> type[enum.Enum]:
    """The `--format` choices as the str Enum that Typer turns into a Click choice."""
    members = {name: name for name in names(document, merge=merge)}
    # The functional API returns a class; mypy's stubs type the call as an instance.
    return cast("type[enum.Enum]", enum.Enum(f"{document.capitalize()}Format", members, type=str))


def option_help(document: Document, *, merge: bool = False) -> str:
    """The `--format` option's help: every choice with what it is for."""
    return "Output format: " + "; ".join(
        f"{f.name}: {f.help}" for f in formats(document, merge=merge)
    )


def resolve(name: str, terminal: bool) -> str:
    """The format that renders `name`: `console` becomes `full` or `concise`."""
    if name == "console":
        return "full" if terminal else "concise"
    return name


def find(document: Document, name: str) -> Format:
    for candidate in FORMATS:
        if candidate.document == document and candidate.name == name:
            return candidate
    raise KeyError(f"no {document} format {name!r}")


@dataclass(frozen=True)
class View:
    """How an audit result is shown, besides the result itself."""

    fail_on: tuple[Kind, ...]
    #: The rule packs of the run: reports take their descriptions and targets from them.
    packs: tuple[RulePack, ...] = ()
    #: Where the findings' paths are relative to, and the folder to show them relative
    #: to (concise and full); paths are shown as found when either is None.
    root: Path | None = None
    cwd: Path | None = None
    #: Columns available to `full`.
    width: int = 120
    #: Whether `full` and `concise` may add ANSI colour.
    colour: bool = False

    def path(self, path: str) -> str:
        """A finding's path as the person running migrator would type it."""
        if self.root is None or self.cwd is None:
            return path
        absolute = self.root / path
        if not absolute.is_relative_to(self.cwd):
            # Outside the current folder, as Ruff does: "../../.." helps nobody.
            return absolute.as_posix()
        return absolute.relative_to(self.cwd).as_posix()


def render(name: str, result: AuditResult, view: View) -> str:
    """Text of the audit format `name` (not `console`: resolve it first)."""
    module = import_module(find("audit", name).module)
    text: str = module.render(result, view)
    return text
