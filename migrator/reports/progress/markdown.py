"""`migrator report --format markdown`: the weekly progress report as Markdown."""

from __future__ import annotations

from migrator.model import KIND_ORDER, Kind
from migrator.reports.markdown import cell, code
from migrator.reports.progress.model import Counts, ProgressReport

_BAR = 20


def bar(progress: float, width: int = _BAR) -> str:
    filled = round(progress * width)
    return "█" * filled + "░" * (width - filled)


def _kind_header(first: str, extra: tuple[str, ...] = ()) -> list[str]:
    names = [first, *extra, *(kind.value for kind in KIND_ORDER), "progress"]
    aligns = ["---", *("---:" for _ in extra), *("---:" for _ in KIND_ORDER), "---"]
    return ["| " + " | ".join(names) + " |", "| " + " | ".join(aligns) + " |"]


def _kind_row(first: str, counts: Counts, extra: tuple[str, ...] = ()) -> str:
    values = [first, *extra, *(str(counts[kind]) for kind in KIND_ORDER)]
    values.append(f"`{bar(counts.progress, 10)}` {counts.progress:.0%}")
    return "| " + " | ".join(values) + " |"


def render(report: ProgressReport) -> str:
    overall = report.overall
    decided = overall.total - overall[Kind.UNCERTAIN]
    out = [
        "# Migration progress",
        "",
        f"**{overall.progress:.0%}** `{bar(overall.progress)}` — {overall.migrated} of {decided} "
        f"decided sites migrated ({overall[Kind.DIRECT_SCOPED]} direct-scoped), "
        f"**{overall.remaining} to go**, {report.blocking} blocking "
        f"({report.baselined} baselined, {report.suppressed} suppressed); "
        f"{report.files_scanned} files scanned, {report.files_analysed} analysed.",
        "",
        "## Sites by kind",
        "",
        "| kind | sites | share |",
        "| --- | ---: | --- |",
    ]
    total = overall.total or 1
    for kind in KIND_ORDER:
        share = overall[kind] / total
        out.append(f"| {kind.value} | {overall[kind]} | `{bar(share, 10)}` {share:.0%} |")
    out += ["", f"## Packages (depth {report.depth})", ""]
    out += _kind_header("package", ("files",))
    for row in report.packages:
        out.append(_kind_row(code(row.name), row.counts, (str(row.files),)))
    out += ["", "## Production and test code", ""]
    out += _kind_header("code", ("files",))
    out.append(_kind_row("production", report.production, (str(report.production_files),)))
    out.append(_kind_row("test", report.test, (str(report.test_files),)))
    if report.top_files:
        out += [
            "",
            "## Files with the most sites",
            "",
            "| file | to do | sites | progress |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in report.top_files:
            out.append(
                f"| {code(row.name)} | {row.counts.remaining} | {row.counts.total} | "
                f"{row.counts.progress:.0%} |"
            )
    if report.manual:
        count = sum(len(group.sites) for group in report.manual)
        out += ["", f"## Manual work ({count})", ""]
        for group in report.manual:
            out += [f"### {group.reason} ({len(group.sites)})", "", cell(group.message), ""]
            for site in group.sites:
                where = f" in {code(site.function)}" if site.function else ""
                state = f" _({site.status})_" if site.status in ("suppressed", "baselined") else ""
                out.append(
                    f"- {code(site.location)} {site.kind.value} {code(site.callee)}{where}{state}"
                )
            out.append("")
    if report.history:
        out += ["", "## Trend", ""]
        names = ["commit", "date", *(k.value for k in KIND_ORDER), "to do", "progress", "subject"]
        out.append("| " + " | ".join(names) + " |")
        out.append(
            "| "
            + " | ".join(["---", "---", *("---:" for _ in KIND_ORDER), "---:", "---:", "---"])
            + " |"
        )
        for point in report.history:
            values = [
                code(point.short),
                point.date[:10],
                *(str(point.counts[kind]) for kind in KIND_ORDER),
                str(point.counts.remaining),
                f"{point.counts.progress:.0%}",
                cell(point.subject),
            ]
            out.append("| " + " | ".join(values) + " |")
        out += ["", "Burndown (sites still to do, oldest first):", "", "```"]
        peak = max((p.counts.remaining for p in report.history), default=0) or 1
        for point in report.history:
            width = round(point.counts.remaining / peak * 40)
            out.append(f"{point.short} {'█' * width} {point.counts.remaining}")
        out.append("```")
    elif report.history_note:
        out += ["", f"_{cell(report.history_note)}_"]
    if report.warnings:
        out += ["", "## Warnings", ""]
        out += [f"- {cell(w)}" for w in report.warnings]
    if report.errors:
        out += ["", f"## Files not analysed ({len(report.errors)})", ""]
        out += [f"- {code(e.path)}: {cell(e.message)}" for e in report.errors]
    return "\n".join(out).rstrip("\n") + "\n"
