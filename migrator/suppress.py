"""Suppression comments: `# migrator: ignore[singleton] reason until=2026-12-31`.

The bracket lists kinds or rule ids (empty brackets or none at all mean every
site on the line). Text after the bracket is the reason; `until=YYYY-MM-DD`
makes the suppression expire, after which the site blocks again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from migrator.model import Finding

_PATTERN = re.compile(
    r"#\s*migrator:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?P<rest>.*)$"
)
_UNTIL = re.compile(r"\buntil=(?P<date>\S+)")


@dataclass(frozen=True)
class Suppression:
    codes: tuple[str, ...]
    reason: str | None
    until: dt.date | None
    #: Set when `until=` is present but not a date.
    problem: str | None = None

    def expired(self, today: dt.date | None = None) -> bool:
        return self.until is not None and (today or dt.date.today()) > self.until

    def covers(self, finding: Finding) -> bool:
        return not self.codes or finding.kind.value in self.codes or finding.rule in self.codes

    def matches(self, finding: Finding, today: dt.date | None = None) -> bool:
        return self.covers(finding) and not self.expired(today) and self.problem is None


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
