"""The gate: the one predicate that decides whether an audit passes.

`audit`'s exit code and every report format (JSON summary, Markdown, SARIF,
JUnit, GitHub, console, `report merge --check`) ask `verdict()`; none of them
counts for itself, so they can never disagree.

What fails the gate:

- a site of a blocking kind (`fail_on`; `--strict` adds `uncertain`) that is
  neither suppressed nor baselined;
- a site whose suppression has expired, whatever its kind: the expired comment
  is the fault, and the audit has always failed on it;
- a file that was not analysed (a missing path, an unreadable, undecodable or
  oversized file, one that does not parse or nests too deeply), unless the
  configuration allows it by name (`allow_skipped`, read from the base branch
  with `--config-from`). A gate that passes on what it could not read would
  pass on nothing.

Such a file makes `audit` exit 2 (the run is incomplete), or 1 when `--fail-on`
lists `error` (then it counts as one more blocking finding).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from migrator.model import AuditResult, FileError, Finding, Kind
from migrator.suppress import expired_fingerprints

__all__ = [
    "ERRORS",
    "EXIT_BLOCKING",
    "EXIT_INCOMPLETE",
    "EXIT_OK",
    "Verdict",
    "allow_errors",
    "is_failing",
    "split_fail_on",
    "status",
    "verdict",
]

EXIT_OK = 0
EXIT_BLOCKING = 1
#: Some file was not analysed: the result is incomplete (also the usage-error code).
EXIT_INCOMPLETE = 2

#: The word in `--fail-on` (or `fail_on`) that makes unanalysed files exit 1, not 2.
ERRORS = "error"


def status(finding: Finding, fail_on: Sequence[Kind], expired: frozenset[str] = frozenset()) -> str:
    """One of `blocking`, `expired`, `suppressed`, `baselined`, `open`, `done`."""
    if finding.kind is Kind.MIGRATED:
        return "done"
    if finding.suppressed:
        return "suppressed"
    if finding.fingerprint in expired:
        return "expired"
    if finding.baselined:
        return "baselined"
    if finding.kind in fail_on:
        return "blocking"
    return "open"


def is_failing(finding: Finding, fail_on: Sequence[Kind], expired: frozenset[str]) -> bool:
    """Whether the site fails the gate: a new site of a blocking kind, or an expired suppression."""
    return status(finding, fail_on, expired) in ("blocking", "expired")


@dataclass(frozen=True)
class Verdict:
    """What fails the gate, and the exit code that says so."""

    #: Sites that fail: blocking and new, or with an expired suppression.
    findings: tuple[Finding, ...]
    #: Files that were not analysed and that nothing allows.
    errors: tuple[FileError, ...]

    @property
    def passed(self) -> bool:
        return not self.findings and not self.errors

    def exit_code(self, errors_block: bool = False) -> int:
        """0, 1 (blocking sites), or 2 (an incomplete run; 1 when `errors_block`)."""
        if self.errors and not errors_block:
            return EXIT_INCOMPLETE
        return EXIT_OK if self.passed else EXIT_BLOCKING


def verdict(result: AuditResult, fail_on: Sequence[Kind]) -> Verdict:
    """The gate's decision on `result` when `fail_on` kinds block."""
    expired = expired_fingerprints(result)
    return Verdict(
        findings=tuple(f for f in result.findings if is_failing(f, fail_on, expired)),
        errors=tuple(e for e in result.errors if not e.allowed),
    )


def allow_errors(result: AuditResult, patterns: Iterable[str]) -> AuditResult:
    """Mark the errors of files named by `patterns` (fnmatch, on `/` paths) as allowed."""
    patterns = tuple(patterns)
    if not patterns or not result.errors:
        return result
    errors = tuple(
        replace(e, allowed=True) if _named(e.path, patterns) else e for e in result.errors
    )
    return replace(result, errors=errors)


def split_fail_on(words: Iterable[str]) -> tuple[tuple[Kind, ...], bool]:
    """The kinds named in a `fail_on` list, and whether it names `error` too.

    Raises ValueError naming the first word that is neither, or when the list names
    nothing at all: `--fail-on "$KINDS"` with an unset variable must not let every
    pull request pass.
    """
    kinds: list[Kind] = []
    errors_block = False
    for word in words:
        word = word.strip()
        if not word:
            continue
        if word in (ERRORS, "errors"):
            errors_block = True
            continue
        try:
            kinds.append(Kind(word))
        except ValueError:
            known = ", ".join([*(k.value for k in Kind), ERRORS])
            raise ValueError(f"unknown kind {word!r} (known: {known})") from None
    if not kinds and not errors_block:
        raise ValueError(
            "names no kind, which would let every site pass; list the kinds that block, "
            "e.g. singleton,legacy-factory,super-init-none"
        )
    return tuple(kinds), errors_block


def _named(path: str, patterns: tuple[str, ...]) -> bool:
    return any(
        path == pattern.rstrip("/")
        or fnmatch.fnmatchcase(path, pattern)
        or (pattern.endswith("/") and path.startswith(pattern))
        for pattern in patterns
    )
