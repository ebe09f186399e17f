"""Suppression comments: `# migrator: ignore[singleton] reason until=2026-12-31`.

The bracket lists kinds or rule ids (empty brackets or none at all mean every
site on the line). Text after the bracket is the reason; `until=YYYY-MM-DD`
makes the suppression expire, after which the site blocks again.

A suppression is a real comment (found by Python's tokenizer, never inside a
string) and covers a site when it is on any line of the site's call, from its
first line to its closing bracket (formatters move a trailing comment to the
line of the `)`), or, spelled `# migrator: ignore-next-line[...]`, on the line
just above the call. Line numbers are the tokenizer's, so a form feed or another
character that `str.splitlines` would break on cannot move a comment.

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

_PATTERN = re.compile(
    r"#\s*migrator:\s*ignore(?P<next>-next-line)?\b(?:\[(?P<codes>[^\]]*)\])?(?P<rest>.*)$"
)
#: Cheap test before tokenizing: a file without it has no suppression.
_MARKER = "migrator"
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
    #: `ignore-next-line`: covers the site on the line below the comment.
    next_line: bool = False

    def expired(self, today: dt.date | None = None) -> bool:
        return self.until is not None and (today or current_date()) > self.until

    def covers(self, finding: Finding) -> bool:
        return not self.codes or finding.kind.value in self.codes or finding.rule in self.codes

    def matches(self, finding: Finding, today: dt.date | None = None) -> bool:
        return self.covers(finding) and not self.expired(today) and self.problem is None

    @property
    def label(self) -> str:
        name = "ignore-next-line" if self.next_line else "ignore"
        return f"{name}[{','.join(self.codes)}]" if self.codes else name

    def lines(self, line: int) -> int:
        """The line a site must start on, or end on, to be covered by this comment at `line`."""
        return line + 1 if self.next_line else line


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
    return Suppression(codes, reason, until, problem, match.group("next") is not None)


def find_suppressions(text: str) -> tuple[tuple[int, str], ...]:
    """(line, comment) of every `# migrator: ignore...` comment of `text`.

    Only real comments count, at the line the tokenizer gives them; a file the
    tokenizer refuses (it will not parse either) falls back to lines split as
    Python splits them (LF, CRLF, CR: never a form feed).
    """
    if _MARKER not in text:
        return ()
    import io
    import tokenize

    found: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and _MARKER in token.string:
                match = _PATTERN.search(token.string)
                if match is not None:
                    found.append((token.start[0], match.group(0)))
    except (tokenize.TokenError, SyntaxError, ValueError):
        found = []
        lines = re.split(r"\r\n|\r|\n", text)
        for number, line in enumerate(lines, start=1):
            if _MARKER in line and (match := _PATTERN.search(line)) is not None:
                found.append((number, match.group(0)))
    return tuple(found)


def site_lines(finding: Finding) -> range:
    """The lines a suppression may sit on to cover `finding` (its call's first to last)."""
    return range(finding.span.line, max(finding.span.line, finding.span.end_line) + 1)


def covering(
    finding: Finding, comments: Iterable[tuple[int, str]]
) -> tuple[int, Suppression] | None:
    """The suppression comment that covers `finding`, with its line, if any.

    A comment on the site's first line wins over one on a later line of the call.
    """
    lines = site_lines(finding)
    best: tuple[int, Suppression] | None = None
    for line, comment in comments:
        suppression = parse_suppression(comment)
        where = suppression.lines(line)
        placed = where == finding.span.line if suppression.next_line else where in lines
        if placed and suppression.covers(finding) and (best is None or line < best[0]):
            best = (line, suppression)
    return best


def apply_suppressions(
    findings: Sequence[Finding], facts: Mapping[str, FileFacts]
) -> list[Finding]:
    """Mark findings suppressed by a live `# migrator: ignore[...]` comment on their call."""
    out: list[Finding] = []
    for finding in findings:
        file_facts = facts.get(finding.path)
        found = covering(finding, file_facts.suppressions) if file_facts is not None else None
        if found is not None and found[1].matches(finding):
            finding = replace(finding, suppressed=True, suppression_reason=found[1].reason)
        out.append(finding)
    return out


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
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    issues: list[SuppressionIssue] = []
    for relpath in sorted(facts):
        if in_scope is not None and not in_scope(relpath):
            continue
        comments = facts[relpath].suppressions
        for line, comment in comments:
            suppression = parse_suppression(comment)
            if suppression.problem == "not a migrator suppression":
                continue
            text = comment.strip()
            covered = [
                f
                for f in by_path.get(relpath, [])
                if (found := covering(f, comments)) is not None and found[0] == line
            ]
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
