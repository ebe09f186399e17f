"""`--format concise`: one line per site for editors, terminals' link detection and CI logs.

    path:line:col: kind[rule] `callee` in where: why (plan)

The shape of Ruff's and Semgrep's `--emacs` output, which editors (Emacs
compilation mode, Vim's quickfix, VS Code's problem matchers) and CI logs turn
into links: 1-based line and column (the JSON keeps LibCST's 0-based column),
the path relative to the current folder. A site that is not simply open says
its state after the plan: `(blocking)`, `(expired)`, `(baselined)`, `(suppressed)`.
Migrated sites need nothing and are only counted. Files that could not be
analysed and warnings follow, then one summary line.
"""

from __future__ import annotations

from migrator.model import AuditResult, Finding, Kind
from migrator.reports.common import (
    gate_summary,
    paint,
    plan_words,
    sorted_findings,
    status,
    summary_words,
    where_words,
)
from migrator.reports.formats import View
from migrator.reports.kinds import KINDS
from migrator.suppress import expired_fingerprints


def site_line(finding: Finding, state: str, view: View) -> str:
    span = finding.span
    where = paint(f"{view.path(finding.path)}:{span.line}:{span.column + 1}:", "bold", view.colour)
    kind = paint(finding.kind.value, KINDS[finding.kind].style, view.colour)
    why = finding.detail or KINDS[finding.kind].short.rstrip(".")
    line = f"{where} {kind}[{finding.rule}] `{finding.callee}` in {where_words(finding)}: {why}"
    line += f" ({plan_words(finding)})"
    if state != "open":
        loud = state in ("blocking", "expired")
        line += " " + paint(f"({state})", "bold red" if loud else "dim", view.colour)
    return line


def render(result: AuditResult, view: View) -> str:
    expired = expired_fingerprints(result)
    lines = [
        site_line(finding, status(finding, view.fail_on, expired), view)
        for finding in sorted_findings(result)
        if finding.kind is not Kind.MIGRATED
    ]
    for error in result.errors:
        # Allowed (`allow_skipped`) files do not fail the gate; the others do.
        note = " (allowed)" if error.allowed else ""
        lines.append(f"{view.path(error.path)}: not analysed: {error.message}{note}")
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    summary = gate_summary(result, view.fail_on)
    lines.append(paint(summary_words(result, summary), "bold", view.colour))
    return "\n".join(lines) + "\n"
