"""`migrator report`: the figures a lead reads, whatever the format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.model import Kind
from migrator.reports.progress.model import Counts, build_report, package_of
from migrator.suppress import with_suppression_review
from tests.helpers import audit_tree

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "tests" / "data" / "report_app"
FAIL_ON = (Kind.SINGLETON, Kind.LEGACY_FACTORY, Kind.SUPER_INIT_NONE)


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", "2026-01-15")


@pytest.fixture(scope="module")
def result():
    analysis = audit_tree(APP)
    return with_suppression_review(analysis.result, analysis.facts)


def report_json(*args: str) -> dict:
    out = CliRunner().invoke(
        app, ["report", str(APP), "--root", str(APP), "--no-cache", "-f", "json", *args]
    )
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_package_of() -> None:
    assert package_of("a/b/c/d.py", 2) == "a/b"
    assert package_of("a/b/c/d.py", 1) == "a"
    assert package_of("a/d.py", 3) == "a"
    assert package_of("d.py", 2) == "."
    assert package_of("a/b/d.py", 0) == "."


def test_counts_progress_follows_the_contract() -> None:
    counts = Counts.from_values({"singleton": 2, "migrated": 1, "uncertain": 5})
    assert (counts.total, counts.remaining, counts.migrated) == (8, 7, 1)
    assert counts.progress == pytest.approx(1 / 3)
    assert Counts.from_values({"uncertain": 2}).progress == 1.0
    assert Counts.from_values({}).progress == 1.0


def test_per_package_at_each_depth(result) -> None:
    two = build_report(result, fail_on=FAIL_ON, depth=2)
    assert [(r.name, r.files, r.counts.total) for r in two.packages] == [
        ("billing", 1, 3),
        ("scripts", 1, 1),
        ("shop/admin", 1, 4),
        ("shop/agents", 2, 9),
        ("tests", 1, 2),
    ]
    one = build_report(result, fail_on=FAIL_ON, depth=1)
    assert [(r.name, r.counts.total, r.counts.migrated) for r in one.packages] == [
        ("billing", 3, 1),
        ("scripts", 1, 0),
        ("shop", 13, 3),
        ("tests", 2, 0),
    ]
    assert sum(r.counts.total for r in one.packages) == one.overall.total == 19


def test_production_and_test_code(result) -> None:
    report = build_report(result, fail_on=FAIL_ON)
    assert report.test.total == 2 and report.test_files == 1
    assert report.production.total == 17 and report.production_files == 5
    assert report.production[Kind.MIGRATED] == 4


def test_top_files_and_manual_work(result) -> None:
    report = build_report(result, fail_on=FAIL_ON, top=3)
    assert [(r.name, r.counts.remaining) for r in report.top_files] == [
        ("shop/agents/checkout.py", 4),
        ("shop/admin/console.py", 3),
        ("shop/agents/support.py", 3),
    ]
    groups = {g.reason: [s.location for s in g.sites] for g in report.manual}
    assert groups["not-async"] == [
        "shop/agents/checkout.py:29",
        "shop/agents/support.py:23",
        "tests/checkout_checks.py:6",
    ]
    assert groups["module-level"] == ["scripts/backfill.py:4", "shop/agents/checkout.py:7"]
    assert [g.reason for g in report.manual][:2] == ["not-async", "module-level"]  # biggest first
    assert all(g.message for g in report.manual)
    assert build_report(result, fail_on=FAIL_ON, top=0).top_files == ()


def test_statuses(result) -> None:
    report = build_report(result, fail_on=FAIL_ON)
    assert report.statuses.count("suppressed") == report.suppressed == 1
    assert report.statuses.count("expired") == 1
    assert report.blocking == 10
    assert report.statuses.count("done") == 4


def test_json_report_is_versioned_and_reproducible() -> None:
    first = report_json("--depth", "1")
    second = report_json("--depth", "1")
    assert first == second
    assert first["schema"] == "migrator.report/1"
    assert first["summary"]["progress"] == round(4 / 18, 4)
    assert first["packages"]["depth"] == 1
    assert len(first["sites"]) == 19
    assert {site["status"] for site in first["sites"]} == {
        "blocking",
        "open",
        "done",
        "suppressed",
        "expired",
    }
    assert first["history"] == []
    assert str(APP) not in json.dumps(first)


def test_report_marks_baselined_sites(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    CliRunner().invoke(
        app,
        ["audit", str(APP), "--root", str(APP), "--no-cache", "--write-baseline", str(baseline)],
    )
    document = report_json("--baseline", str(baseline))
    assert document["summary"]["baselined"] == 13
    assert document["summary"]["blocking"] == 1  # only the expired suppression still blocks


def test_console_report_prints_to_the_terminal() -> None:
    out = CliRunner().invoke(app, ["report", str(APP), "--root", str(APP), "--no-cache"])
    assert out.exit_code == 0, out.output
    assert "Migration progress 22%" in out.stdout
    assert "Manual work" in out.stdout


def test_options_may_follow_the_paths_and_merge_is_a_subcommand(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["report", str(APP), "--root", str(APP), "--no-cache", "--format", "markdown"]
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("# Migration progress")
    help_text = CliRunner().invoke(app, ["report", "--help"]).stdout
    assert "merge" in help_text and "--history" in help_text
    usage = CliRunner().invoke(app, ["report", "merge"])
    assert usage.exit_code == 2
