"""`--format console` of `audit`: Rich renderables (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from migrator.model import KIND_ORDER, AuditResult, Finding, Kind

KIND_STYLE = {
    Kind.SINGLETON: "bold red",
    Kind.LEGACY_FACTORY: "red",
    Kind.SUPER_INIT_NONE: "magenta",
    Kind.DIRECT_SCOPED: "yellow",
    Kind.UNCERTAIN: "cyan",
    Kind.MIGRATED: "green",
}


def plan_text(finding: Finding) -> str:
    if finding.fix is None:
        return "done"
    if finding.fix.reason:
        return f"{finding.fix.action.value}: {finding.fix.reason}"
    return finding.fix.action.value


def render(result: AuditResult, fail_on: Sequence[Kind]) -> RenderableType:
    parts: list[RenderableType] = []
    findings = sorted(result.findings, key=lambda f: (f.path, f.span.line, f.span.column))
    for path, group in groupby(findings, key=lambda f: f.path):
        table = Table(
            title=Text(path, style="bold"), title_justify="left", expand=False, show_edge=False
        )
        table.add_column("line:col", justify="right", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("callee")
        table.add_column("where")
        table.add_column("plan")
        for finding in group:
            kind = Text(finding.kind.value, style=KIND_STYLE[finding.kind])
            if finding.suppressed:
                kind.append(" (suppressed)", style="dim")
            elif finding.baselined:
                kind.append(" (baselined)", style="dim")
            where = finding.scope.function or finding.scope.level.value
            if finding.scope.is_async:
                where = f"async {where}"
            table.add_row(
                f"{finding.span.line}:{finding.span.column}",
                kind,
                finding.callee,
                where,
                plan_text(finding),
            )
        parts.append(table)
    parts.append(summary(result, fail_on))
    if result.aliases:
        aliases = Table(title="Aliases found", title_justify="left", show_edge=False)
        aliases.add_column("name")
        aliases.add_column("resolves to")
        aliases.add_column("defined at")
        for alias in result.aliases:
            aliases.add_row(alias.name, alias.target, f"{alias.path}:{alias.line}")
        parts.append(aliases)
    if result.errors:
        errors = Table(title="Files not analysed", title_justify="left", show_edge=False)
        errors.add_column("path")
        errors.add_column("reason")
        for error in result.errors:
            errors.add_row(error.path, error.message)
        parts.append(errors)
    for warning in result.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def summary(result: AuditResult, fail_on: Sequence[Kind]) -> RenderableType:
    counts = result.by_kind()
    table = Table(title="Summary", title_justify="left", show_edge=False)
    table.add_column("kind")
    table.add_column("sites", justify="right")
    table.add_column("blocks", justify="center")
    for kind in KIND_ORDER:
        table.add_row(
            Text(kind.value, style=KIND_STYLE[kind]),
            str(counts[kind]),
            "yes" if kind in fail_on else "",
        )
    from migrator.gate import verdict

    decision = verdict(result, fail_on)
    blocking = len(decision.findings)
    line = Text()
    line.append(f"{result.files_scanned} files scanned, {result.files_analysed} analysed, ")
    line.append(f"{len(result.findings)} sites, progress {result.progress:.0%}, ")
    line.append(f"{blocking} blocking", style="bold red" if blocking else "bold green")
    if result.errors:
        line.append(f", {len(result.errors)} not analysed", style="yellow")
    if decision.errors:
        line.append(
            f" ({len(decision.errors)} fail the gate: a file that is not analysed may hide a site)",
            style="bold red",
        )
    return Group(table, line)
