"""Reports say how many test sites remain for a person, by reason (issue 13)."""

from __future__ import annotations

from dataclasses import replace

from migrator.model import Finding, FixAction, FixPlan, Kind, Scope, ScopeLevel, Span
from migrator.reports.common import sites_left_in_tests


def _site(reason: str | None, *, test: bool = True, suppressed: bool = False) -> Finding:
    action = FixAction.MANUAL if reason else FixAction.FACTORY
    return Finding(
        path="tests/test_x.py" if test else "app.py",
        span=Span(1, 0, 1, 5),
        rule="r",
        kind=Kind.SINGLETON,
        callee="D",
        qualified_name="m.D",
        scope=Scope(ScopeLevel.FUNCTION, "f", True),
        context=None,
        fix=FixPlan(action, reason, ""),
        fingerprint="",
        test_code=test,
        suppressed=suppressed,
    )


def test_counts_manual_test_sites_by_reason_most_first() -> None:
    findings = [_site("not-async"), _site("not-a-test"), _site("not-async"), _site(None)]
    assert (
        sites_left_in_tests(findings)
        == "test sites left for a person: 3 (not-async 2, not-a-test 1)"
    )


def test_production_suppressed_and_planned_sites_are_not_counted() -> None:
    findings = [
        _site("not-async", test=False),
        _site("unittest-method", suppressed=True),
        _site(None),
        replace(_site("x"), kind=Kind.MIGRATED, fix=None),
    ]
    assert sites_left_in_tests(findings) is None
