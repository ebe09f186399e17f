"""Baselines: the sites a project already knows about, tolerated until they are migrated.

`migrator audit --write-baseline FILE` records every site that still needs work;
`migrator audit --baseline FILE` marks the sites it lists as `baselined`, so only
new sites block. Sites are matched by path, kind and fingerprint, which is anchored on the
file, the rule, the enclosing function, the text of the call and its
occurrence, never on line numbers: inserting lines above a site or
reformatting other code keeps it baselined. Entries whose site is gone are
reported, so the baseline can shrink as the migration goes on.

The file is JSON, sorted, one entry per site, so that its diffs review well.
An audit JSON document (`--format json`) is accepted as a baseline too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.model import AuditResult, Finding, Kind
from migrator.writer import write_document

SCHEMA = "migrator.baseline/1"
_AUDIT_SCHEMA = "migrator.audit/1"


@dataclass(frozen=True)
class BaselineEntry:
    """One tolerated site. It matches a site of the same path, kind and fingerprint;
    the rest is for people."""

    fingerprint: str
    path: str
    line: int = 0
    kind: str = ""
    rule: str = ""
    callee: str = ""
    function: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "rule": self.rule,
            "callee": self.callee,
            "function": self.function,
        }

    @property
    def key(self) -> tuple[str, str, str]:
        """What an entry must share with a site to tolerate it."""
        return (self.path, self.kind, self.fingerprint)

    def describe(self) -> str:
        return f"{self.path}:{self.line} {self.kind} {self.callee}".rstrip()


def _needs_work(finding: Finding) -> bool:
    return finding.kind is not Kind.MIGRATED and not finding.suppressed


def entry_for(finding: Finding) -> BaselineEntry:
    return BaselineEntry(
        fingerprint=finding.fingerprint,
        path=finding.path,
        line=finding.span.line,
        kind=finding.kind.value,
        rule=finding.rule,
        callee=finding.callee,
        function=finding.scope.function,
    )


def entries_of(result: AuditResult) -> tuple[BaselineEntry, ...]:
    """The baseline entries that `save_baseline` writes for `result`."""
    return tuple(entry_for(f) for f in result.findings if _needs_work(f))


def baseline_document(result: AuditResult) -> dict[str, Any]:
    """The baseline of `result`: every site that still needs work and is not suppressed."""
    entries = sorted(entries_of(result), key=lambda e: (e.path, e.line, e.fingerprint))
    return {
        "schema": SCHEMA,
        "tool": {"name": "migrator", "version": __version__},
        "entries": [e.to_json() for e in entries],
    }


def save_baseline(path: Path, result: AuditResult) -> int:
    """Write the baseline of `result` to `path` atomically; returns the number of entries.

    Raises ValueError with a message for people when the file cannot be written.
    """
    document = baseline_document(result)
    text = json.dumps(document, indent=2) + "\n"
    try:
        write_document(path, text.encode("utf-8"))
    except OSError as error:
        raise ValueError(f"cannot write the baseline {path}: {error.strerror or error}") from None
    return len(document["entries"])


def load_baseline(path: Path) -> tuple[BaselineEntry, ...]:
    """Read a baseline (or an audit JSON document). Raises ValueError naming the file and fault."""
    hint = f"create it with `migrator audit --write-baseline {path}`"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"baseline {path}: no such file; {hint}") from None
    except OSError as error:
        raise ValueError(f"baseline {path}: cannot read: {error.strerror}") from None
    return parse_baseline(raw, str(path))


def parse_baseline(raw: bytes, path: str) -> tuple[BaselineEntry, ...]:
    """Entries of a baseline's bytes; `path` names it in errors (a file, or REF:FILE)."""
    hint = f"create it with `migrator audit --write-baseline {path}`"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"baseline {path}: cannot read: not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"baseline {path}: line {error.lineno}, column {error.colno}: invalid JSON "
            f"({error.msg}); {hint}"
        ) from None
    if not isinstance(document, dict):
        raise ValueError(f'baseline {path}: expected a JSON object with "schema": "{SCHEMA}"')
    schema = document.get("schema")
    if schema == SCHEMA:
        items, key = document.get("entries"), "entries"
    elif schema == _AUDIT_SCHEMA:
        items, key = document.get("findings"), "findings"
    else:
        raise ValueError(
            f"baseline {path}: unknown schema {schema!r} (expected {SCHEMA!r} or {_AUDIT_SCHEMA!r})"
        )
    if not isinstance(items, list):
        raise ValueError(f'baseline {path}: "{key}" must be a list')
    entries: list[BaselineEntry] = []
    for index, item in enumerate(items):
        where = f"baseline {path}: {key}[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object")
        fingerprint = item.get("fingerprint")
        item_path = item.get("path")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ValueError(f'{where}: "fingerprint" must be a non-empty string')
        if not isinstance(item_path, str):
            raise ValueError(f'{where}: "path" must be a string')
        done = item.get("kind") == Kind.MIGRATED.value or bool(item.get("suppressed"))
        if schema == _AUDIT_SCHEMA and done:
            continue
        line = item.get("line", 0)
        function = item.get("function")
        if function is None and isinstance(item.get("scope"), dict):
            function = item["scope"].get("function")
        entries.append(
            BaselineEntry(
                fingerprint=fingerprint,
                path=item_path,
                line=line if isinstance(line, int) else 0,
                kind=str(item.get("kind", "")),
                rule=str(item.get("rule", "")),
                callee=str(item.get("callee", "")),
                function=function if isinstance(function, str) else None,
            )
        )
    return tuple(entries)


GONE_PREFIX = "baseline lists "


def gone_warning(gone: Sequence[BaselineEntry]) -> str:
    """The warning that says which baselined sites are gone (so the baseline can shrink)."""
    shown = ", ".join(e.describe() for e in gone[:10])
    more = f" and {len(gone) - 10} more" if len(gone) > 10 else ""
    return (
        f"{GONE_PREFIX}{len(gone)} site(s) that are gone ({shown}{more}); "
        "shrink it with --write-baseline"
    )


def entry_from_json(item: Mapping[str, Any]) -> BaselineEntry:
    function = item.get("function")
    return BaselineEntry(
        fingerprint=str(item.get("fingerprint", "")),
        path=str(item.get("path", "")),
        line=int(item.get("line", 0) or 0),
        kind=str(item.get("kind", "")),
        rule=str(item.get("rule", "")),
        callee=str(item.get("callee", "")),
        function=function if isinstance(function, str) else None,
    )


def apply_baseline(
    result: AuditResult,
    entries: Iterable[BaselineEntry],
    in_scope: Callable[[str], bool] | None = None,
    source: str | None = None,
) -> AuditResult:
    """Mark the sites listed in `entries` as baselined and record the entries that are gone.

    `in_scope` says which paths this run looked at (for `--changed-since`,
    `--shard` or a narrower PATH): only entries in scope can be gone.
    """
    entries = tuple(entries)
    # Path, kind and fingerprint together: a `direct-scoped` entry does not tolerate
    # the `singleton` that a one-word edit makes of its site.
    remaining: Counter[tuple[str, str, str]] = Counter(e.key for e in entries)
    findings: list[Finding] = []
    matched = 0
    for finding in result.findings:
        key = (finding.path, finding.kind.value, finding.fingerprint)
        if finding.kind is not Kind.MIGRATED and remaining[key] > 0:
            remaining[key] -= 1
            matched += 1
            finding = replace(finding, baselined=True)
        findings.append(finding)
    gone: list[BaselineEntry] = []
    for entry in entries:
        if remaining[entry.key] > 0 and (in_scope is None or in_scope(entry.path)):
            remaining[entry.key] -= 1
            gone.append(entry)
    gone.sort(key=lambda e: (e.path, e.line, e.fingerprint))
    warnings = list(result.warnings)
    if gone:
        warnings.append(gone_warning(gone))
    extra = dict(result.extra)
    extra["baseline"] = {
        "file": source,
        "entries": len(entries),
        "matched": matched,
        "new": sum(1 for f in findings if _needs_work(f) and not f.baselined),
        "gone": [e.to_json() for e in gone],
    }
    return replace(result, findings=tuple(findings), warnings=tuple(warnings), extra=extra)
