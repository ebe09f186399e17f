"""Read `migrator.audit/1` JSON documents back, and merge several into one.

`migrator audit --shard I/N --format json` in each job of a CI matrix, then
`migrator report merge shard-*.json` in a last job: the merged result is the
audit of the whole tree, rendered in any audit format (JSON by default, or
SARIF, JUnit, GitHub annotations, Markdown). Merging a single file converts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.baseline import GONE_PREFIX, entry_from_json, gone_warning
from migrator.model import (
    DEFAULT_FAIL_ON,
    AliasNote,
    AuditResult,
    FileError,
    Finding,
    FixAction,
    FixPlan,
    Kind,
    Scope,
    ScopeLevel,
    Span,
)

AUDIT_SCHEMA = "migrator.audit/1"


class MergeError(ValueError):
    """A file that is not an audit JSON document, or documents that cannot be merged."""


@dataclass(frozen=True)
class LoadedAudit:
    source: str
    result: AuditResult
    fail_on: tuple[Kind, ...]
    shard: tuple[int, int] | None


def load_audit(path: Path) -> LoadedAudit:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MergeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise MergeError(f"{path}: cannot read: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MergeError(
            f"{path}: line {error.lineno}, column {error.colno}: invalid JSON ({error.msg}); "
            "expected the output of `migrator audit --format json`"
        ) from None
    return document_to_audit(document, str(path))


def document_to_audit(document: Any, source: str) -> LoadedAudit:
    if not isinstance(document, Mapping) or document.get("schema") != AUDIT_SCHEMA:
        found = document.get("schema") if isinstance(document, Mapping) else type(document).__name__
        raise MergeError(
            f"{source}: not a migrator audit document (schema {found!r}, expected "
            f"{AUDIT_SCHEMA!r}); write one with `migrator audit --format json --output FILE`"
        )
    try:
        findings = tuple(_finding(item) for item in document.get("findings", ()))
        errors = tuple(
            FileError(str(e["path"]), str(e["message"]), bool(e.get("allowed", False)))
            for e in document.get("errors", ())
        )
        aliases = tuple(
            AliasNote(str(a["name"]), str(a["target"]), str(a["path"]), int(a["line"]))
            for a in document.get("aliases", ())
        )
        summary = document.get("summary", {})
        fail_on = tuple(
            Kind(k) for k in document.get("fail_on", [k.value for k in DEFAULT_FAIL_ON])
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MergeError(
            f"{source}: malformed audit document ({type(error).__name__}: {error})"
        ) from None
    shard_info = document.get("shard")
    shard: tuple[int, int] | None = None
    if isinstance(shard_info, Mapping):
        shard = (int(shard_info.get("index", 0)), int(shard_info.get("count", 0)))
    extra = {
        key: document[key]
        for key in ("baseline", "suppressions", "changed_since", "config_changes", "strict")
        if key in document
    }
    result = AuditResult(
        root=".",
        files_scanned=int(summary.get("files_scanned", 0)),
        files_analysed=int(summary.get("files_analysed", 0)),
        findings=findings,
        errors=errors,
        aliases=aliases,
        warnings=tuple(str(w) for w in document.get("warnings", ())),
        rule_packs=tuple(str(p) for p in document.get("rule_packs", ())),
        extra=extra,
    )
    return LoadedAudit(source, result, fail_on, shard)


def _finding(item: Mapping[str, Any]) -> Finding:
    scope = item.get("scope") or {}
    fix = item.get("fix")
    plan = None
    if fix is not None:
        plan = FixPlan(
            action=FixAction(fix["action"]),
            reason=fix.get("reason"),
            message=str(fix.get("message", "")),
            async_chain=tuple(fix.get("async_chain", ())),
        )
    function = scope.get("function")
    level = scope.get("level") or ("function" if function else "module")
    return Finding(
        path=str(item["path"]),
        span=Span(
            int(item["line"]),
            int(item["column"]),
            int(item.get("end_line", item["line"])),
            int(item.get("end_column", item["column"])),
        ),
        rule=str(item["rule"]),
        kind=Kind(item["kind"]),
        callee=str(item.get("callee", "")),
        qualified_name=str(item.get("qualified_name", "")),
        scope=Scope(
            level=ScopeLevel(level),
            function=function,
            is_async=bool(scope.get("async", False)),
            class_name=scope.get("class"),
        ),
        context=item.get("context"),
        fix=plan,
        fingerprint=str(item["fingerprint"]),
        test_code=bool(item.get("test_code", False)),
        escapes=bool(item.get("escapes", False)),
        via=tuple(item.get("via", ())),
        detail=str(item.get("detail", "")),
        suppressed=bool(item.get("suppressed", False)),
        suppression_reason=item.get("suppression_reason"),
        baselined=bool(item.get("baselined", False)),
    )


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def merge(loaded: Sequence[LoadedAudit]) -> tuple[AuditResult, tuple[Kind, ...]]:
    """One audit result from several (shards of one run, or audits of separate paths)."""
    if not loaded:
        raise MergeError("nothing to merge: give at least one audit JSON file")
    warnings: list[str] = []
    fail_on = loaded[0].fail_on
    if any(set(item.fail_on) != set(fail_on) for item in loaded):
        warnings.append(
            "merge: the inputs were audited with different --fail-on kinds; "
            f"using {','.join(k.value for k in fail_on)} from {loaded[0].source}"
        )
    shards = [item.shard for item in loaded if item.shard is not None]
    sharded = len(shards) == len(loaded)
    extra: dict[str, Any] = {}
    if sharded:
        counts = {count for _, count in shards}
        if len(counts) != 1:
            raise MergeError(
                "the inputs come from different shard counts ("
                + ", ".join(
                    f"{item.source}: {item.shard[0]}/{item.shard[1]}"
                    for item in loaded
                    if item.shard
                )
                + "); merge the outputs of one CI matrix"
            )
        count = counts.pop()
        present = sorted({index for index, _ in shards})
        missing = [index for index in range(1, count + 1) if index not in present]
        if missing:
            warnings.append(
                "merge: shard(s) "
                + ", ".join(f"{index}/{count}" for index in missing)
                + " missing; the merged report covers only part of the tree"
            )
        if len(shards) != len(set(shards)):
            warnings.append("merge: a shard was given more than once; its sites are counted once")
        extra["shards"] = {"count": count, "merged": present, "missing": missing}
    findings: dict[tuple[str, str], Finding] = {}
    for item in loaded:
        for finding in item.result.findings:
            findings.setdefault((finding.path, finding.fingerprint), finding)
    ordered = sorted(
        findings.values(), key=lambda f: (f.path, f.span.line, f.span.column, f.fingerprint)
    )
    scanned = [item.result.files_scanned for item in loaded]
    analysed = [item.result.files_analysed for item in loaded]
    baselines = [
        item.result.extra["baseline"] for item in loaded if "baseline" in item.result.extra
    ]
    inherited = [
        w for item in loaded for w in item.result.warnings if not w.startswith(GONE_PREFIX)
    ]
    if baselines:
        gone = _unique(g for b in baselines for g in b.get("gone", ()))
        gone = sorted(gone, key=lambda g: (str(g.get("path")), int(g.get("line", 0))))
        if gone:
            warnings.append(gone_warning([entry_from_json(g) for g in gone]))
        extra["baseline"] = {
            "file": baselines[0].get("file"),
            "entries": max(int(b.get("entries", 0)) for b in baselines),
            "matched": sum(1 for f in ordered if f.baselined),
            "new": sum(
                1
                for f in ordered
                if f.kind is not Kind.MIGRATED and not f.baselined and not f.suppressed
            ),
            "gone": gone,
        }
    suppressions = _unique(s for item in loaded for s in item.result.extra.get("suppressions", ()))
    if suppressions:
        extra["suppressions"] = sorted(
            suppressions, key=lambda s: (str(s.get("path")), int(s.get("line", 0)))
        )
    if set(fail_on) != set(DEFAULT_FAIL_ON):
        extra["fail_on"] = [kind.value for kind in fail_on]
    for key in ("config_changes", "strict"):
        # The same in every shard (one configuration, one command line): kept as is.
        kept = [item.result.extra[key] for item in loaded if key in item.result.extra]
        if kept:
            extra[key] = kept[0]
    extra["merged_from"] = len(loaded)
    result = AuditResult(
        root=".",
        files_scanned=max(scanned) if sharded else sum(scanned),
        files_analysed=max(analysed) if sharded else sum(analysed),
        findings=tuple(ordered),
        errors=tuple(
            sorted(_unique(e for item in loaded for e in item.result.errors), key=lambda e: e.path)
        ),
        aliases=tuple(_unique(a for item in loaded for a in item.result.aliases)),
        warnings=tuple(_unique([*inherited, *warnings])),
        rule_packs=tuple(_unique(p for item in loaded for p in item.result.rule_packs)),
        extra=extra,
    )
    return result, fail_on
