"""`--format full` of `audit`: a table per file for a person at a terminal.

Each site gets its position (1-based line and column, as editors count), its
kind, the name called and where, then its plan and the sentence that explains
it. Nothing is cut: a long path or name wraps (folds) within the width, and
lines carry no trailing blanks, so the text reads the same in a file or a pipe.
"""

from __future__ import annotations

from itertools import groupby

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from migrator.model import KIND_ORDER, AuditResult, Finding
from migrator.reports.common import (
    gate_summary,
    plan_words,
    rich_text,
    sorted_findings,
    status,
    summary_words,
    where_words,
)
from migrator.reports.formats import View
from migrator.reports.kinds import KINDS
from migrator.suppress import expired_fingerprints


def render(result: AuditResult, view: View) -> str:
    return rich_text(renderable(result, view), view.width, view.colour)


def _site(finding: Finding, state: str) -> tuple[Text, Text, Text]:
    look = KINDS[finding.kind]
    position = Text(f"{finding.span.line}:{finding.span.column + 1}")
    kind = Text(finding.kind.value, style=look.style)
    if state in ("blocking", "expired", "suppressed", "baselined"):
        kind.append(f"\n{state}", style="bold red" if state in ("blocking", "expired") else "dim")
    site = Text(finding.callee, style="bold")
    site.append(f" in {where_words(finding)}")
    if finding.fix is None:
        site.append("\ndone", style="green")
        return position, kind, site
    site.append("\n")
    site.append(plan_words(finding), style="bold")
    site.append(f" — {finding.fix.message}")
    if finding.fix.async_chain:
        site.append(f"\ncallers to make async: {', '.join(finding.fix.async_chain)}")
    if finding.suppressed:
        site.append(f"\nsuppressed: {finding.suppression_reason or 'no reason given'}", style="dim")
    return position, kind, site


def renderable(result: AuditResult, view: View) -> RenderableType:
    expired = expired_fingerprints(result)
    parts: list[RenderableType] = []
    for path, group in groupby(sorted_findings(result), key=lambda f: f.path):
        parts.append(Text(view.path(path), style="bold underline", overflow="fold"))
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
        table.add_column("line:col", justify="right", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("site, plan and why", overflow="fold")
        for finding in group:
            table.add_row(*_site(finding, status(finding, view.fail_on, expired)))
        parts.append(table)
    parts.append(_summary(result, view))
    if result.aliases:
        aliases = Table(title="Aliases found", title_justify="left", show_edge=False)
        aliases.add_column("name", overflow="fold")
        aliases.add_column("resolves to", overflow="fold")
        aliases.add_column("defined at", overflow="fold")
        for alias in result.aliases:
            aliases.add_row(alias.name, alias.target, f"{view.path(alias.path)}:{alias.line}")
        parts.append(aliases)
    if result.errors:
        errors = Table(title="Files not analysed", title_justify="left", show_edge=False)
        errors.add_column("path", overflow="fold")
        errors.add_column("reason", overflow="fold")
        for error in result.errors:
            errors.add_row(
                view.path(error.path), error.message + (" (allowed)" if error.allowed else "")
            )
        parts.append(errors)
    for warning in result.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def _summary(result: AuditResult, view: View) -> RenderableType:
    summary = gate_summary(result, view.fail_on)
    table = Table(title="Summary", title_justify="left", show_edge=False)
    table.add_column("kind")
    table.add_column("sites", justify="right")
    table.add_column("blocks", justify="center")
    for kind in KIND_ORDER:
        table.add_row(
            Text(kind.value, style=KINDS[kind].style),
            str(summary.by_kind[kind]),
            "yes" if kind in view.fail_on else "",
        )
    line = Text(
        summary_words(result, summary), style="bold green" if summary.passed else "bold red"
    )
    return Group(table, line)
