"""`--format markdown` of `audit`: a pull-request comment or a job summary.

A one-line verdict, a table of counts by kind, then the sites that block (with
their fix plan), expired suppressions, suppressed sites with their reasons,
baseline entries that are gone, warnings and files not analysed. Long lists
are cut (GitHub refuses comments over 65,536 characters) and say how many more
there are; baselined sites are counted, and listed in a folded section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from migrator.model import KIND_ORDER, AuditResult, Finding, Kind
from migrator.reports.common import (
    gate_summary,
    plan_words,
    sites_left_in_tests,
    sorted_findings,
    status,
    where_words,
)
from migrator.reports.formats import View
from migrator.suppress import expired_fingerprints

#: Rows shown per list before "... and N more".
MAX_ROWS = 100


def cell(text: object) -> str:
    """Text safe inside a table cell: pipes escaped, no line breaks."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def code(text: object) -> str:
    value = str(text).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in value else "`"
    pad = " " if "`" in value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _site_rows(findings: Iterable[Finding], with_reason: bool = False) -> list[str]:
    header = "| site | kind | callee | where | fix plan |"
    rule = "| --- | --- | --- | --- | --- |"
    if with_reason:
        header = "| site | kind | callee | where | reason |"
    rows = [header, rule]
    items = list(findings)
    for finding in items[:MAX_ROWS]:
        last = cell(finding.suppression_reason or "—") if with_reason else cell(plan_words(finding))
        where = f"{finding.path}:{finding.span.line}"
        rows.append(
            f"| {code(where)} | {finding.kind.value} | "
            f"{code(finding.callee)} | {cell(where_words(finding))} | {last} |"
        )
    if len(items) > MAX_ROWS:
        rows.append(f"\n… and {len(items) - MAX_ROWS} more.")
    return rows


def render(result: AuditResult, view: View) -> str:
    fail_on = view.fail_on
    expired = expired_fingerprints(result)
    summary = gate_summary(result, fail_on)
    findings = sorted_findings(result)
    states = [status(f, fail_on, expired) for f in findings]

    def having(state: str) -> list[Finding]:
        return [f for f, s in zip(findings, states, strict=True) if s == state]

    out: list[str] = ["## migrator audit", ""]
    verdict = "✅ **nothing blocking**"
    if summary.blocking:
        verdict = f"❌ **{summary.blocking} blocking**"
    if summary.failing_errors:
        failed = f"❌ **{summary.failing_errors} file(s) not analysed**"
        verdict = f"{verdict} · {failed}" if summary.blocking else failed
    out.append(
        f"{verdict} · {summary.total} site(s) · progress **{summary.progress:.0%}** · "
        f"{result.files_scanned} file(s) scanned, {result.files_analysed} analysed"
    )
    left = sites_left_in_tests(result.findings)
    if left is not None:
        out.extend(["", left[:1].upper() + left[1:]])
    out.append("")
    by_state: dict[Kind, dict[str, int]] = {kind: {} for kind in KIND_ORDER}
    for finding, state in zip(findings, states, strict=True):
        by_state[finding.kind][state] = by_state[finding.kind].get(state, 0) + 1
    out.append("| kind | sites | blocking | baselined | suppressed |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for kind in KIND_ORDER:
        counts = by_state[kind]
        blocking = counts.get("blocking", 0) + counts.get("expired", 0)
        mark = " (blocks)" if kind in fail_on else ""
        out.append(
            f"| {kind.value}{mark} | {summary.by_kind[kind]} | {blocking} | "
            f"{counts.get('baselined', 0)} | {counts.get('suppressed', 0)} |"
        )
    out.append("")
    failing = having("blocking")
    if failing:
        out += [f"### Blocking sites ({len(failing)})", "", *_site_rows(failing), ""]
    stale = having("expired")
    if stale:
        out += [
            f"### Expired suppressions ({len(stale)})",
            "",
            "These sites block again: migrate them or move the `until=` date.",
            "",
            *_site_rows(stale),
            "",
        ]
    open_sites = having("open")
    if open_sites:
        out += [
            "<details><summary>Sites that need work but do not block "
            f"({len(open_sites)})</summary>",
            "",
            *_site_rows(open_sites),
            "",
            "</details>",
            "",
        ]
    suppressed = having("suppressed")
    if suppressed:
        rows = _site_rows(suppressed, with_reason=True)
        out += [f"### Suppressed ({len(suppressed)})", "", *rows, ""]
    baselined = having("baselined")
    if baselined:
        out += [
            f"<details><summary>Baselined: tolerated until migrated ({len(baselined)})</summary>",
            "",
            *_site_rows(baselined),
            "",
            "</details>",
            "",
        ]
    if summary.gone:
        out += _gone(summary.gone)
    notes = [w for w in result.warnings if not w.startswith("baseline lists ")]
    if notes:
        out += ["### Warnings", ""]
        out += [f"- {cell(w)}" for w in notes[:MAX_ROWS]]
        if len(notes) > MAX_ROWS:
            out.append(f"- … and {len(notes) - MAX_ROWS} more")
        out.append("")
    if result.errors:
        out += [f"### Files not analysed ({len(result.errors)})", ""]
        out += [f"- {code(e.path)}: {cell(e.message)}" for e in result.errors[:MAX_ROWS]]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _gone(gone: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        f"### Gone from the baseline ({len(gone)})",
        "",
        "Migrated or removed since the baseline was written; shrink it with "
        "`migrator audit --write-baseline FILE`.",
        "",
        "| was at | kind | callee |",
        "| --- | --- | --- |",
    ]
    for entry in gone[:MAX_ROWS]:
        where = f"{entry.get('path')}:{entry.get('line')}"
        rows.append(
            f"| {code(where)} | {cell(entry.get('kind', ''))} | {code(entry.get('callee', ''))} |"
        )
    if len(gone) > MAX_ROWS:
        rows.append(f"\n… and {len(gone) - MAX_ROWS} more.")
    rows.append("")
    return rows
