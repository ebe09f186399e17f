"""`--format json` of `audit`: the `migrator.audit/1` contract of DESIGN.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from migrator import __version__
from migrator.model import AuditResult, Kind
from migrator.reports.formats import View

SCHEMA = "migrator.audit/1"


def audit_document(result: AuditResult, fail_on: Sequence[Kind] = ()) -> dict[str, Any]:
    from migrator.gate import verdict

    counts = result.by_kind()
    decision = verdict(result, fail_on)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "migrator", "version": __version__},
        "summary": {
            "files_scanned": result.files_scanned,
            "files_analysed": result.files_analysed,
            "by_kind": {kind.value: counts[kind] for kind in counts},
            "progress": round(result.progress, 4),
            "blocking": len(decision.findings),
            # Files not analysed that fail the gate (not allowed by `allow_skipped`).
            "failing_errors": len(decision.errors),
            "passed": decision.passed,
        },
        "findings": [finding.to_json() for finding in result.findings],
        "errors": [error.to_json() for error in result.errors],
        "aliases": [alias.to_json() for alias in result.aliases],
        "warnings": list(result.warnings),
        "rule_packs": list(result.rule_packs),
    }
    document.update({k: v for k, v in result.extra.items() if k not in document})
    return document


def is_blocking(finding: Any, fail_on: Sequence[Kind]) -> bool:
    """Whether the site fails the gate (`migrator.gate.is_failing`, without expiries)."""
    from migrator.gate import status

    return status(finding, fail_on) == "blocking"


def render(result: AuditResult, view: View) -> str:
    return json.dumps(audit_document(result, view.fail_on), indent=2, sort_keys=False) + "\n"
