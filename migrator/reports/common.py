"""What every report format says the same way: a site's status, its plan in words, the gate."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.gate import is_failing, status, verdict
from migrator.model import AuditResult, Finding, FixAction, Kind
from migrator.suppress import expired_fingerprints

__all__ = ["GateSummary", "gate_summary", "is_failing", "status"]


def plan_words(finding: Finding) -> str:
    """`factory`, `context-manager`, `manual: <reason>`, or `done` for migrated sites."""
    if finding.fix is None:
        return "done"
    if finding.fix.reason:
        return f"{finding.fix.action.value}: {finding.fix.reason}"
    return finding.fix.action.value


def where_words(finding: Finding) -> str:
    where = finding.scope.function or finding.scope.class_name or finding.scope.level.value
    if finding.scope.function is None and finding.scope.class_name:
        where = f"class {where}"
    return f"async {where}" if finding.scope.is_async else where


def location(finding: Finding) -> str:
    return f"{finding.path}:{finding.span.line}"


def sorted_findings(result: AuditResult) -> list[Finding]:
    return sorted(
        result.findings, key=lambda f: (f.path, f.span.line, f.span.column, f.fingerprint)
    )


@dataclass(frozen=True)
class GateSummary:
    total: int
    by_kind: dict[Kind, int]
    blocking: int
    suppressed: int
    baselined: int
    expired: int
    progress: float
    gone: tuple[Mapping[str, Any], ...]
    #: Files not analysed that fail the gate.
    failing_errors: int = 0

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.failing_errors


def gate_summary(result: AuditResult, fail_on: Sequence[Kind]) -> GateSummary:
    expired = expired_fingerprints(result)
    states = [status(f, fail_on, expired) for f in result.findings]
    baseline = result.extra.get("baseline")
    gone = tuple(baseline.get("gone", ())) if isinstance(baseline, Mapping) else ()
    decision = verdict(result, fail_on)
    return GateSummary(
        total=len(result.findings),
        by_kind=result.by_kind(),
        blocking=len(decision.findings),
        failing_errors=len(decision.errors),
        suppressed=states.count("suppressed"),
        baselined=states.count("baselined"),
        expired=states.count("expired"),
        progress=result.progress,
        gone=gone,
    )


def summary_words(result: AuditResult, summary: GateSummary) -> str:
    """The closing line of the people's formats (concise and full)."""
    words = (
        f"{summary.total} site(s) in {result.files_analysed} of {result.files_scanned} "
        f"file(s) scanned: {summary.blocking} blocking, {summary.baselined} baselined, "
        f"{summary.suppressed} suppressed, {summary.by_kind[Kind.MIGRATED]} migrated, "
        f"{summary.by_kind[Kind.DIRECT_SCOPED]} direct-scoped; "
        f"progress {summary.progress:.0%}"
    )
    left = sites_left_in_tests(result.findings)
    if left is not None:
        words += f"; {left}"
    if result.errors:
        words += f"; {len(result.errors)} file(s) not analysed"
    if summary.failing_errors:
        words += f" ({summary.failing_errors} fail the gate: a file that is not analysed may hide a site)"
    return words


def sites_left_in_tests(findings: Iterable[Finding]) -> str | None:
    """How many test sites remain for a person, by reason (issue 13); None when there are none."""
    reasons = Counter(
        f.fix.reason or "manual"
        for f in findings
        if f.test_code
        and not f.suppressed
        and f.fix is not None
        and f.fix.action is FixAction.MANUAL
    )
    if not reasons:
        return None
    listed = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
    return f"test sites left for a person: {sum(reasons.values())} ({listed})"


_TRAILING_BLANKS = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def without_trailing_blanks(text: str) -> str:
    """Rich pads table cells to the column width; a file or a pipe should not keep it."""
    return _TRAILING_BLANKS.sub(r"\1", text)


def rich_text(renderable: Any, width: int, colour: bool) -> str:
    """A Rich renderable as text `width` columns wide, with ANSI colour or without."""
    import io

    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=colour,
        no_color=not colour,
        color_system="standard" if colour else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(renderable)
    return without_trailing_blanks(console.file.getvalue())  # type: ignore[attr-defined]


def paint(text: str, style: str, colour: bool) -> str:
    """`text` with the ANSI codes of a Rich style when `colour` is on, else as it is."""
    if not colour or not style:
        return text
    from rich.color import ColorSystem
    from rich.style import Style

    return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)
