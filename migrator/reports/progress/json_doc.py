"""`migrator report --format json`: the `migrator.report/1` document.

Versioned like the audit document: fields may be added, these stay. Paths are
relative to the root; no absolute path, time stamp or machine detail is
written, so two runs over the same tree give the same bytes.

```
{"schema": "migrator.report/1",
 "tool": {"name": "migrator", "version": "..."},
 "summary": {"files_scanned": 0, "files_analysed": 0, "by_kind": {...}, "total": 0,
             "migrated": 0, "remaining": 0, "progress": 0.0,
             "blocking": 0, "baselined": 0, "suppressed": 0, "fail_on": [...]},
 "packages": {"depth": 2, "rows": [{"name": "pkg/sub", "files": 1, "by_kind": {...}, ...}]},
 "code": {"production": {...counts, "files": 0}, "test": {...}},
 "top_files": [{"name": "pkg/mod.py", "files": 1, "by_kind": {...}, ...}],
 "manual": [{"reason": "not-async", "message": "...", "count": 1,
             "sites": [{"path": "...", "line": 1, "kind": "...", "callee": "...",
                        "function": "...", "status": "blocking"}]}],
 "sites": [<the audit findings>],
 "history": [{"commit": "...", "date": "...", "subject": "...", "by_kind": {...}, ...}],
 "errors": [...], "warnings": [...]}
```
"""

from __future__ import annotations

import json
from typing import Any

from migrator import __version__
from migrator.reports.progress.model import SCHEMA, ProgressReport


def report_document(report: ProgressReport) -> dict[str, Any]:
    sites = []
    for finding, state in zip(report.findings, report.statuses, strict=True):
        site = finding.to_json()
        site["status"] = state
        sites.append(site)
    return {
        "schema": SCHEMA,
        "tool": {"name": "migrator", "version": __version__},
        "summary": {
            "files_scanned": report.files_scanned,
            "files_analysed": report.files_analysed,
            **report.overall.to_json(),
            "blocking": report.blocking,
            "baselined": report.baselined,
            "suppressed": report.suppressed,
            "fail_on": [kind.value for kind in report.fail_on],
        },
        "packages": {"depth": report.depth, "rows": [row.to_json() for row in report.packages]},
        "code": {
            "production": {**report.production.to_json(), "files": report.production_files},
            "test": {**report.test.to_json(), "files": report.test_files},
        },
        "top_files": [row.to_json() for row in report.top_files],
        "manual": [group.to_json() for group in report.manual],
        "sites": sites,
        "history": [point.to_json() for point in report.history],
        "errors": [error.to_json() for error in report.errors],
        "warnings": list(report.warnings),
        "rule_packs": list(report.rule_packs),
    }


def render(report: ProgressReport) -> str:
    return json.dumps(report_document(report), indent=2, ensure_ascii=False) + "\n"
