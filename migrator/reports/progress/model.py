"""The figures of a progress report, computed once and rendered by every format."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from migrator.model import KIND_ORDER, AuditResult, FileError, Finding, FixAction, Kind
from migrator.reports.common import status
from migrator.suppress import expired_fingerprints

SCHEMA = "migrator.report/1"
ROOT_PACKAGE = "."


@dataclass(frozen=True)
class Counts:
    """Sites by kind, and what follows from them."""

    by_kind: Mapping[Kind, int]

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Counts:
        counts = dict.fromkeys(KIND_ORDER, 0)
        for finding in findings:
            counts[finding.kind] += 1
        return cls(counts)

    @classmethod
    def from_values(cls, values: Mapping[str, int]) -> Counts:
        return cls({kind: int(values.get(kind.value, 0)) for kind in KIND_ORDER})

    def __getitem__(self, kind: Kind) -> int:
        return self.by_kind.get(kind, 0)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    @property
    def migrated(self) -> int:
        return self[Kind.MIGRATED]

    @property
    def remaining(self) -> int:
        """Sites that still need work (everything but migrated)."""
        return self.total - self.migrated

    @property
    def progress(self) -> float:
        """migrated ÷ (all sites but uncertain); 1.0 when there is nothing to migrate."""
        decided = self.total - self[Kind.UNCERTAIN]
        return self.migrated / decided if decided else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "by_kind": {kind.value: self[kind] for kind in KIND_ORDER},
            "total": self.total,
            "migrated": self.migrated,
            "remaining": self.remaining,
            "progress": round(self.progress, 4),
        }


@dataclass(frozen=True)
class Row:
    """A package or a file, with its sites."""

    name: str
    files: int
    counts: Counts

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "files": self.files, **self.counts.to_json()}


@dataclass(frozen=True)
class ManualSite:
    path: str
    line: int
    kind: Kind
    callee: str
    function: str | None
    status: str
    reason: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "kind": self.kind.value,
            "callee": self.callee,
            "function": self.function,
            "status": self.status,
        }


@dataclass(frozen=True)
class ManualGroup:
    """Sites left for a person, for one reason."""

    reason: str
    message: str
    sites: tuple[ManualSite, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "message": self.message,
            "count": len(self.sites),
            "sites": [site.to_json() for site in self.sites],
        }


@dataclass(frozen=True)
class HistoryPoint:
    """The counts at one commit."""

    commit: str
    date: str
    subject: str
    counts: Counts
    suppressed: int = 0
    files: int = 0
    errors: int = 0

    @property
    def short(self) -> str:
        return self.commit[:10]

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "date": self.date,
            "subject": self.subject,
            **self.counts.to_json(),
            "suppressed": self.suppressed,
            "files": self.files,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ProgressReport:
    files_scanned: int
    files_analysed: int
    overall: Counts
    blocking: int
    suppressed: int
    baselined: int
    depth: int
    packages: tuple[Row, ...]
    production: Counts
    test: Counts
    top_files: tuple[Row, ...]
    manual: tuple[ManualGroup, ...]
    findings: tuple[Finding, ...]
    statuses: tuple[str, ...]
    fail_on: tuple[Kind, ...]
    production_files: int = 0
    test_files: int = 0
    errors: tuple[FileError, ...] = ()
    warnings: tuple[str, ...] = ()
    history: tuple[HistoryPoint, ...] = ()
    history_note: str | None = None
    rule_packs: tuple[str, ...] = field(default=())


def package_of(path: str, depth: int) -> str:
    """The first `depth` folders of `path` ("." for a file at the root)."""
    folders = PurePosixPath(path).parts[:-1]
    if not folders or depth <= 0:
        return ROOT_PACKAGE
    return "/".join(folders[:depth])


def _rows(groups: Mapping[str, Sequence[Finding]]) -> list[Row]:
    return [
        Row(name, len({f.path for f in items}), Counts.of(items)) for name, items in groups.items()
    ]


def _manual(findings: Sequence[Finding], statuses: Sequence[str]) -> tuple[ManualGroup, ...]:
    groups: dict[str, list[tuple[Finding, str]]] = defaultdict(list)
    for finding, state in zip(findings, statuses, strict=True):
        if finding.fix is not None and finding.fix.action is FixAction.MANUAL:
            groups[finding.fix.reason or "unspecified"].append((finding, state))
    out: list[ManualGroup] = []
    for reason, items in groups.items():
        messages = sorted((f.fix.message for f, _ in items if f.fix is not None), key=len)
        sites = tuple(
            ManualSite(
                f.path, f.span.line, f.kind, f.callee, f.scope.function, state, f.fix.reason or ""
            )
            for f, state in items
            if f.fix is not None
        )
        out.append(ManualGroup(reason, messages[0] if messages else "", sites))
    out.sort(key=lambda g: (-len(g.sites), g.reason))
    return tuple(out)


def build_report(
    result: AuditResult,
    *,
    fail_on: Sequence[Kind],
    depth: int = 2,
    top: int = 10,
    history: Sequence[HistoryPoint] = (),
    history_note: str | None = None,
) -> ProgressReport:
    findings = tuple(
        sorted(result.findings, key=lambda f: (f.path, f.span.line, f.span.column, f.fingerprint))
    )
    expired = expired_fingerprints(result)
    statuses = tuple(status(f, fail_on, expired) for f in findings)
    packages: dict[str, list[Finding]] = defaultdict(list)
    files: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        packages[package_of(finding.path, depth)].append(finding)
        files[finding.path].append(finding)
    package_rows = sorted(_rows(packages), key=lambda r: r.name)
    file_rows = sorted(_rows(files), key=lambda r: (-r.counts.remaining, -r.counts.total, r.name))
    return ProgressReport(
        files_scanned=result.files_scanned,
        files_analysed=result.files_analysed,
        overall=Counts.of(findings),
        blocking=sum(1 for s in statuses if s in ("blocking", "expired")),
        suppressed=statuses.count("suppressed"),
        baselined=statuses.count("baselined"),
        depth=depth,
        packages=tuple(package_rows),
        production=Counts.of(f for f in findings if not f.test_code),
        test=Counts.of(f for f in findings if f.test_code),
        production_files=len({f.path for f in findings if not f.test_code}),
        test_files=len({f.path for f in findings if f.test_code}),
        top_files=tuple(r for r in file_rows if r.counts.total > 0)[: max(top, 0)],
        manual=_manual(findings, statuses),
        findings=findings,
        statuses=statuses,
        fail_on=tuple(fail_on),
        errors=result.errors,
        warnings=result.warnings,
        history=tuple(history),
        history_note=history_note,
        rule_packs=result.rule_packs,
    )
