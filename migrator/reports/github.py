"""`--format github`: GitHub Actions workflow commands, shown as annotations on the diff.

`::error` for each site that blocks (and each expired suppression), `::warning`
for sites that need work but do not block and for files not analysed,
`::notice` for suppressed sites and for warnings such as unused suppressions or
baseline entries that are gone. Baselined and migrated sites are not annotated.
Columns are 1-based. A last plain line sums up the run.
"""

from __future__ import annotations

from migrator.model import AuditResult, Finding
from migrator.reports.common import gate_summary, plan_words, sorted_findings, status, where_words
from migrator.reports.formats import View
from migrator.suppress import expired_fingerprints


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | int) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    head = f"::{kind} {props}" if props else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def _message(finding: Finding) -> str:
    text = f"{finding.callee} in {where_words(finding)}: {finding.detail or finding.kind.value}."
    if finding.fix is not None:
        text += f"\nFix plan: {plan_words(finding)}. {finding.fix.message}"
    return text


def _annotation(kind: str, finding: Finding, title: str, message: str) -> str:
    span = finding.span
    properties: dict[str, str | int] = {
        "file": finding.path,
        "line": span.line,
        "endLine": span.end_line,
    }
    if span.line == span.end_line:
        # GitHub reads the columns only for a one-line range.
        properties["col"] = span.column + 1
        properties["endColumn"] = span.end_column + 1
    properties["title"] = title
    return command(kind, message, **properties)


def render(result: AuditResult, view: View) -> str:
    fail_on = view.fail_on
    expired = expired_fingerprints(result)
    lines: list[str] = []
    for finding in sorted_findings(result):
        state = status(finding, fail_on, expired)
        if state == "blocking":
            lines.append(
                _annotation("error", finding, f"migrator: {finding.kind.value}", _message(finding))
            )
        elif state == "expired":
            lines.append(
                _annotation(
                    "error",
                    finding,
                    f"migrator: expired suppression ({finding.kind.value})",
                    _message(finding),
                )
            )
        elif state == "open":
            lines.append(
                _annotation(
                    "warning", finding, f"migrator: {finding.kind.value}", _message(finding)
                )
            )
        elif state == "suppressed":
            reason = finding.suppression_reason or "no reason given"
            lines.append(
                _annotation(
                    "notice",
                    finding,
                    f"migrator: {finding.kind.value} (suppressed)",
                    f"{_message(finding)}\nSuppressed: {reason}",
                )
            )
    for error in result.errors:
        # Not analysed fails the gate unless the configuration allows the file.
        level = "warning" if error.allowed else "error"
        lines.append(
            command(level, f"not analysed: {error.message}", file=error.path, title="migrator")
        )
    for warning in result.warnings:
        if warning.startswith("expired suppression"):
            continue  # already an error on the site itself
        lines.append(command("notice", warning, title="migrator"))
    summary = gate_summary(result, fail_on)
    lines.append(
        f"migrator: {summary.total} site(s), {summary.blocking} blocking, "
        f"{summary.baselined} baselined, {summary.suppressed} suppressed, "
        f"progress {summary.progress:.0%}"
        + (f", {summary.failing_errors} file(s) not analysed" if summary.failing_errors else "")
    )
    return "\n".join(lines) + "\n"
