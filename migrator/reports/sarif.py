"""`--format sarif`: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps, IDE viewers).

One reporting descriptor (rule) per rule of the rule packs, with the pack's
description, what the rule targets and how to migrate it (the pack's factory
and context manager), and what each kind of site means; one result per site
that is not migrated, whose `ruleId` is its pack rule and whose kind is the
`kind` property, with the site's fix plan in its message, a `partialFingerprints` entry that survives line shifts (the audit's
own fingerprint), `baselineState` when a baseline was applied, and an
in-source `suppressions` entry for suppressed sites. Files that could not be
analysed and warnings go to the invocation's notifications. Columns are
1-based, as SARIF wants; paths are relative to `%SRCROOT%`, the repository root.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from migrator import __version__
from migrator.model import KIND_ORDER, AuditResult, Finding, Kind
from migrator.reports.common import gate_summary, plan_words, sorted_findings, status
from migrator.reports.formats import View
from migrator.reports.kinds import KINDS
from migrator.reports.packs import RuleDoc, docs_for
from migrator.suppress import expired_fingerprints

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "migratorSite/v1"


def _level(kind: Kind, fail_on: Sequence[Kind]) -> str:
    if kind in fail_on:
        return "error"
    if kind is Kind.MIGRATED:
        return "none"
    if kind is Kind.UNCERTAIN:
        return "note"
    return "warning"


def _rule(doc: RuleDoc, fail_on: Sequence[Kind]) -> dict[str, Any]:
    kinds = [(kind, KINDS[kind]) for kind in KIND_ORDER if kind is not Kind.MIGRATED]
    text_kinds = "\n".join(
        f"- {kind.value}{' (blocks)' if kind in fail_on else ''}: {look.short} {look.guidance}"
        for kind, look in kinds
    )
    markdown_kinds = "\n".join(
        f"- **{kind.value}**{' (blocks)' if kind in fail_on else ''}: {look.short} {look.guidance}"
        for kind, look in kinds
    )
    return {
        "id": doc.id,
        "name": doc.name,
        "shortDescription": {"text": doc.short},
        "fullDescription": {"text": doc.full},
        "help": {
            "text": f"{doc.full}\n\nHow to fix: {doc.how_to_fix}\n\nKinds of site:\n{text_kinds}",
            "markdown": f"{doc.full}\n\n**How to fix:** {doc.how_to_fix}\n\n"
            f"**Kinds of site:**\n\n{markdown_kinds}",
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "tags": ["migration", "request-scoped", *([doc.pack] if doc.pack else [])],
            "precision": "high",
            "target": doc.target,
        },
    }


def _message(finding: Finding) -> str:
    detail = finding.detail or KINDS[finding.kind].short
    text = f"`{finding.callee}` ({finding.kind.value}): {detail}."
    if finding.fix is not None:
        text += f" Fix plan: {plan_words(finding)}. {finding.fix.message}"
        if finding.fix.async_chain:
            text += f" Callers to make async: {', '.join(finding.fix.async_chain)}."
    if finding.suppressed:
        text += f" Suppressed: {finding.suppression_reason or 'no reason given'}."
    return text


def _region(finding: Finding) -> dict[str, int]:
    span = finding.span
    return {
        "startLine": span.line,
        "startColumn": span.column + 1,
        "endLine": span.end_line,
        "endColumn": span.end_column + 1,
    }


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _result(
    finding: Finding,
    fail_on: Sequence[Kind],
    baseline_applied: bool,
    expired: frozenset[str],
    index: int,
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"},
            "region": _region(finding),
        }
    }
    if finding.scope.function:
        location["logicalLocations"] = [
            {"fullyQualifiedName": finding.scope.function, "kind": "function"}
        ]
    state = status(finding, fail_on, expired)
    result: dict[str, Any] = {
        # The pack's rule: code scanning groups alerts by it. The kind is a property.
        "ruleId": finding.rule,
        "ruleIndex": index,
        "kind": "fail",
        "level": "error" if state == "expired" else _level(finding.kind, fail_on),
        "message": {"text": _message(finding)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "kind": finding.kind.value,
            "status": state,
            "rule": finding.rule,
            "callee": finding.callee,
            "qualifiedName": finding.qualified_name,
            "testCode": finding.test_code,
            "fix": finding.fix.to_json() if finding.fix is not None else None,
        },
    }
    if baseline_applied and not finding.suppressed:
        # A suppressed site is never written to a baseline: it has no baseline state.
        result["baselineState"] = "unchanged" if finding.baselined else "new"
    if finding.suppressed:
        suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
        if finding.suppression_reason:
            suppression["justification"] = finding.suppression_reason
        result["suppressions"] = [suppression]
    return result


def sarif_document(result: AuditResult, view: View) -> dict[str, Any]:
    fail_on = view.fail_on
    expired = expired_fingerprints(result)
    baseline_applied = "baseline" in result.extra
    docs = docs_for(view.packs, sorted_findings(result))
    index = {doc.id: number for number, doc in enumerate(docs)}
    results = [
        _result(f, fail_on, baseline_applied, expired, index[f.rule])
        for f in sorted_findings(result)
        if f.kind is not Kind.MIGRATED
    ]
    notifications: list[dict[str, Any]] = []
    for error in result.errors:
        notifications.append(
            {
                "level": "warning" if error.allowed else "error",
                "message": {"text": f"not analysed: {error.message}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(error.path), "uriBaseId": "%SRCROOT%"}
                        }
                    }
                ],
            }
        )
    for warning in result.warnings:
        level = "error" if warning.startswith("expired suppression") else "warning"
        notifications.append({"level": level, "message": {"text": warning}})
    summary = gate_summary(result, fail_on)
    # A run that could not analyse every file it had to did not succeed: a consumer
    # that only reads results would otherwise take "no results" for "nothing found".
    successful = summary.failing_errors == 0
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "migrator",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(doc, fail_on) for doc in docs],
            }
        },
        "originalUriBaseIds": {
            "%SRCROOT%": {"description": {"text": "The root of the repository that was audited."}}
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {"executionSuccessful": successful, "toolExecutionNotifications": notifications}
        ],
        "results": results,
        "properties": {
            "filesScanned": result.files_scanned,
            "filesAnalysed": result.files_analysed,
            "byKind": {kind.value: summary.by_kind[kind] for kind in KIND_ORDER},
            "progress": round(summary.progress, 4),
            "blocking": summary.blocking,
            "failingErrors": summary.failing_errors,
            "failOn": [kind.value for kind in fail_on],
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: AuditResult, view: View) -> str:
    return json.dumps(sarif_document(result, view), indent=2) + "\n"
