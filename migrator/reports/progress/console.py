"""`migrator report --format console`: Rich tables and bars (the CLI prints them)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from migrator.model import KIND_ORDER, Kind
from migrator.reports.kinds import KINDS
from migrator.reports.progress.model import Counts, ProgressReport, Row

_BAR_WIDTH = 24


def _bar(progress: float, width: int = _BAR_WIDTH) -> RenderableType:
    return ProgressBar(
        total=100.0,
        completed=round(progress * 100, 1),
        width=width,
        complete_style="green",
        finished_style="green",
    )


def _percent(progress: float) -> str:
    return f"{progress:.0%}"


def _counts_table(title: str, rows: list[tuple[str, int, Counts]], first: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    # Numbers keep their width; a long package name folds rather than losing its end.
    table.add_column(first, overflow="fold")
    table.add_column("files", justify="right", no_wrap=True)
    table.add_column("to do", justify="right", style="red", no_wrap=True)
    table.add_column("migrated", justify="right", style="green", no_wrap=True)
    table.add_column("uncertain", justify="right", style=KINDS[Kind.UNCERTAIN].style, no_wrap=True)
    table.add_column("progress", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    for name, files, counts in rows:
        table.add_row(
            name,
            str(files),
            str(counts.remaining),
            str(counts.migrated),
            str(counts[Kind.UNCERTAIN]),
            _bar(counts.progress, 16),
            _percent(counts.progress),
        )
    return table


def _overview(report: ProgressReport) -> RenderableType:
    overall = report.overall
    headline = Text()
    headline.append("Migration progress ", style="bold")
    headline.append(_percent(overall.progress), style="bold green")
    headline.append(
        f"  ·  {overall.migrated} of {overall.total - overall[Kind.UNCERTAIN]} decided sites "
        f"migrated ({overall[Kind.DIRECT_SCOPED]} direct-scoped)  ·  {overall.remaining} to go  ·  "
        f"{report.blocking} blocking  ·  "
        f"{report.files_scanned} files scanned"
    )
    kinds = Table(title="Sites by kind", title_justify="left", show_edge=False)
    kinds.add_column("kind")
    kinds.add_column("sites", justify="right")
    kinds.add_column("share", no_wrap=True)
    total = overall.total or 1
    for kind in KIND_ORDER:
        kinds.add_row(
            Text(kind.value, style=KINDS[kind].style),
            str(overall[kind]),
            ProgressBar(
                total=float(total),
                completed=float(overall[kind]),
                width=_BAR_WIDTH,
                complete_style=KINDS[kind].style,
                finished_style=KINDS[kind].style,
            ),
        )
    return Group(headline, _bar(overall.progress, 60), Text(""), kinds)


def _rows(rows: tuple[Row, ...]) -> list[tuple[str, int, Counts]]:
    return [(row.name, row.files, row.counts) for row in rows]


def render(report: ProgressReport) -> RenderableType:
    parts: list[RenderableType] = [_overview(report), Text("")]
    parts.append(
        _counts_table(f"Packages (depth {report.depth})", _rows(report.packages), "package")
    )
    parts.append(Text(""))
    parts.append(
        _counts_table(
            "Production and test code",
            [
                ("production", report.production_files, report.production),
                ("test", report.test_files, report.test),
            ],
            "code",
        )
    )
    if report.top_files:
        parts.append(Text(""))
        top = Table(title="Files with the most sites", title_justify="left", show_edge=False)
        top.add_column("file", overflow="fold")
        top.add_column("to do", justify="right", no_wrap=True)
        top.add_column("sites", justify="right", no_wrap=True)
        top.add_column("progress", justify="right", no_wrap=True)
        for row in report.top_files:
            top.add_row(
                row.name,
                str(row.counts.remaining),
                str(row.counts.total),
                _percent(row.counts.progress),
            )
        parts.append(top)
    if report.manual:
        parts.append(Text(""))
        parts.append(Text("Manual work", style="bold"))
        for group in report.manual:
            head = Text()
            head.append(f"{group.reason}", style="bold yellow")
            head.append(f" ({len(group.sites)}): {group.message}")
            parts.append(head)
            for site in group.sites:
                line = Text(f"  {site.location}  ")
                line.append(site.kind.value, style=KINDS[site.kind].style)
                line.append(f"  {site.callee}")
                if site.function:
                    line.append(f"  in {site.function}", style="dim")
                if site.status in ("suppressed", "baselined"):
                    line.append(f"  ({site.status})", style="dim")
                parts.append(line)
    if report.history:
        parts.append(Text(""))
        parts.append(_history(report))
    elif report.history_note:
        parts.append(Text(report.history_note, style="yellow"))
    for warning in report.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    if report.errors:
        parts.append(Text(f"{len(report.errors)} file(s) not analysed:", style="yellow"))
        for error in report.errors:
            parts.append(Text(f"  {error.path}: {error.message}", style="yellow"))
    return Group(*parts)


def _history(report: ProgressReport) -> RenderableType:
    table = Table(title="Trend", title_justify="left", show_edge=False)
    table.add_column("commit", no_wrap=True)
    table.add_column("date", no_wrap=True)
    for kind in KIND_ORDER:
        table.add_column(kind.value, justify="right", style=KINDS[kind].style, no_wrap=True)
    table.add_column("to do", justify="right", no_wrap=True)
    table.add_column("burndown", no_wrap=True)
    table.add_column("progress", justify="right", no_wrap=True)
    table.add_column("subject")
    peak = max((p.counts.remaining for p in report.history), default=0) or 1
    for point in report.history:
        table.add_row(
            point.short,
            point.date[:10],
            *(str(point.counts[kind]) for kind in KIND_ORDER),
            str(point.counts.remaining),
            ProgressBar(
                total=float(peak),
                completed=float(point.counts.remaining),
                width=12,
                complete_style="red",
                finished_style="red",
            ),
            _percent(point.counts.progress),
            point.subject,
        )
    return table
