"""Suppression comments: `# migrator: ignore[singleton] reason until=2026-12-31`.

The bracket lists kinds or rule ids (empty brackets or none at all mean every
site on the line). Text after the bracket is the reason; `until=YYYY-MM-DD`
makes the suppression expire, after which the site blocks again.

A suppression is never silent: a suppressed site stays in every report, marked
as suppressed with its reason; a comment that matches no site on its line is
reported as unused; an expired one is reported (and `audit` fails on it) while
the site counts as if the comment were not there; a malformed date is reported
and suppresses nothing.

Set `MIGRATOR_TODAY=YYYY-MM-DD` to check expiry against another day (for tests
and for seeing which suppressions will run out).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from migrator.facts import FileFacts
from migrator.model import AuditResult, Finding

_PATTERN = re.compile(r"#\s*migrator:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?P<rest>.*)$")
_UNTIL = re.compile(r"\buntil=(?P<date>\S+)")

#: Warnings about suppressions start with these words (`audit` fails on the first).
EXPIRED = "expired suppression"
UNUSED = "unused suppression"
INVALID = "invalid suppression"


@dataclass(frozen=True)
class Suppression:
    codes: tuple[str, ...]
    reason: str | None
    until: dt.date | None
    #: Set when `until=` is present but not a date.
    problem: str | None = None

    def expired(self, today: dt.date | None = None) -> bool:
        return self.until is not None and (today or current_date()) > self.until

    def covers(self, finding: Finding) -> bool:
        return not self.codes or finding.kind.value in self.codes or finding.rule in self.codes

    def matches(self, finding: Finding, today: dt.date | None = None) -> bool:
        return self.covers(finding) and not self.expired(today) and self.problem is None

    @property
    def label(self) -> str:
        return f"ignore[{','.join(self.codes)}]" if self.codes else "ignore"


def current_date() -> dt.date:
    """Today, or the day in `MIGRATOR_TODAY` when it is set to a valid date."""
    override = os.environ.get("MIGRATOR_TODAY", "").strip()
    if override:
        try:
            return dt.date.fromisoformat(override)
        except ValueError:
            pass
    return dt.date.today()


def parse_suppression(comment: str) -> Suppression:
    match = _PATTERN.search(comment)
    if match is None:
        return Suppression((), None, None, "not a migrator suppression")
    codes = tuple(c.strip() for c in (match.group("codes") or "").split(",") if c.strip())
    rest = match.group("rest").strip()
    until: dt.date | None = None
    problem: str | None = None
    found = _UNTIL.search(rest)
    if found is not None:
        try:
            until = dt.date.fromisoformat(found.group("date"))
        except ValueError:
            problem = f"until={found.group('date')} is not a date (use YYYY-MM-DD)"
        rest = (rest[: found.start()] + rest[found.end() :]).strip()
    reason = rest.strip(" ,;:-—") or None
    return Suppression(codes, reason, until, problem)


@dataclass(frozen=True)
class SuppressionIssue:
    """A suppression comment that needs attention: expired, unused or invalid."""

    status: str  # "expired", "unused", "invalid"
    path: str
    line: int
    comment: str
    until: str | None = None
    #: Fingerprints of the sites on the line the comment would cover.
    fingerprints: tuple[str, ...] = ()
    problem: str | None = None

    def warning(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.status == "expired":
            return (
                f"{EXPIRED} at {where}: `{self.comment}` ran out on {self.until}; "
                "migrate the site or move the date"
            )
        if self.status == "invalid":
            return (
                f"{INVALID} at {where}: `{self.comment}`: {self.problem}; "
                "the site is not suppressed"
            )
        return f"{UNUSED} at {where}: `{self.comment}` matches no site on its line; remove it"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "path": self.path,
            "line": self.line,
            "comment": self.comment,
            "until": self.until,
            "fingerprints": list(self.fingerprints),
            "problem": self.problem,
        }


def review(
    findings: Sequence[Finding],
    facts: Mapping[str, FileFacts],
    in_scope: Callable[[str], bool] | None = None,
    today: dt.date | None = None,
) -> list[SuppressionIssue]:
    """Every suppression comment of the analysed files that is expired, invalid or unused."""
    today = today or current_date()
    on_line: dict[tuple[str, int], list[Finding]] = {}
    for finding in findings:
        on_line.setdefault((finding.path, finding.span.line), []).append(finding)
    issues: list[SuppressionIssue] = []
    for relpath in sorted(facts):
        if in_scope is not None and not in_scope(relpath):
            continue
        for line, comment in facts[relpath].suppressions:
            suppression = parse_suppression(comment)
            if suppression.problem == "not a migrator suppression":
                continue
            text = comment.strip()
            covered = [f for f in on_line.get((relpath, line), []) if suppression.covers(f)]
            prints = tuple(f.fingerprint for f in covered)
            if not covered:
                issues.append(SuppressionIssue("unused", relpath, line, text, None, ()))
            elif suppression.problem is not None:
                issues.append(
                    SuppressionIssue(
                        "invalid", relpath, line, text, None, prints, suppression.problem
                    )
                )
            elif suppression.expired(today):
                until = suppression.until.isoformat() if suppression.until else None
                issues.append(SuppressionIssue("expired", relpath, line, text, until, prints))
    return issues


def with_suppression_review(
    result: AuditResult,
    facts: Mapping[str, FileFacts],
    in_scope: Callable[[str], bool] | None = None,
    today: dt.date | None = None,
) -> AuditResult:
    """`result` with a warning per expired, invalid or unused suppression.

    Idempotent: warnings already present are not repeated, so it is safe to call
    on a result whose engine already reviewed its suppressions.
    """
    issues = review(result.findings, facts, in_scope, today)
    if not issues:
        return result
    warnings = list(result.warnings)
    for issue in issues:
        text = issue.warning()
        if text not in warnings:
            warnings.append(text)
    extra = dict(result.extra)
    extra["suppressions"] = [issue.to_json() for issue in issues]
    return replace(result, warnings=tuple(warnings), extra=extra)


def expired_fingerprints(result: AuditResult) -> frozenset[str]:
    """Fingerprints of the sites whose suppression has run out (they block like new sites)."""
    return _fingerprints(result.extra.get("suppressions", ()), "expired")


def _fingerprints(items: Iterable[Any], status: str) -> frozenset[str]:
    out: set[str] = set()
    for item in items:
        if isinstance(item, Mapping) and item.get("status") == status:
            out.update(str(fp) for fp in item.get("fingerprints", ()))
    return frozenset(out)
