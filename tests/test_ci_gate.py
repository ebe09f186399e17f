"""The CI gate: SARIF, JUnit, GitHub and Markdown outputs, --changed-since, --shard and merging."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped
from typer.testing import CliRunner

from migrator.cli import app
from migrator.model import DEFAULT_FAIL_ON
from migrator.rules import load_rule_set
from migrator.sharding import ShardError, in_shard, parse_shard, shard_of
from tests.pull_requests import git

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "tests" / "data" / "report_app"
TODAY = "2026-01-15"


@pytest.fixture(autouse=True)
def _fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATOR_TODAY", TODAY)


def run(*args: str, root: Path = APP) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, [*args[:1], str(root), "--root", str(root), "--no-cache", *args[1:]]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout, result.stderr


def audit_json(root: Path = APP, *args: str) -> dict:
    return json.loads(run("audit", "-f", "json", *args, root=root)[1])


# ---------------------------------------------------------------------- SARIF


@pytest.fixture(scope="module")
def sarif_schema(repo: Path | None = None) -> dict:
    # The official OASIS schema, kept as test data with its notice (tests/data/sarif/NOTICE.md):
    # the suite needs nothing outside the repository.
    path = REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json"
    assert path.is_file(), f"the official SARIF schema must be at {path}"
    return json.loads(path.read_text())


def _validate_sarif(document: dict, schema: dict) -> None:
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_validates_and_carries_rules_fingerprints_and_plans(sarif_schema: dict) -> None:
    code, text, _ = run("audit", "-f", "sarif")
    assert code == 1
    document = json.loads(text)
    _validate_sarif(document, sarif_schema)
    (sarif_run,) = document["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    # One rule per rule of the pack (code scanning groups alerts by rule), each kind
    # explained in its help; the kind of each site is a property of its result.
    pack = load_rule_set([])
    assert [r["id"] for r in rules] == [r.id for r in pack.classes] + [
        r.id for r in pack.legacy_factories
    ]
    for rule in rules:
        assert rule["help"]["text"] and "How to fix" in rule["help"]["text"]
        assert rule["fullDescription"]["text"]
        for kind in ("singleton", "legacy-factory", "super-init-none", "direct-scoped"):
            assert f"- {kind}" in rule["help"]["text"]
    audit = audit_json()
    open_sites = [f for f in audit["findings"] if f["kind"] != "migrated"]
    results = sarif_run["results"]
    assert len(results) == len(open_sites)
    by_print = {r["partialFingerprints"]["migratorSite/v1"]: r for r in results}
    assert set(by_print) == {f["fingerprint"] for f in open_sites}
    for finding in open_sites:
        result = by_print[finding["fingerprint"]]
        assert result["ruleId"] == finding["rule"]
        assert rules[result["ruleIndex"]]["id"] == finding["rule"]
        assert result["properties"]["kind"] == finding["kind"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == finding["line"]
        assert region["startColumn"] == finding["column"] + 1
        assert f"Fix plan: {finding['fix']['action']}" in result["message"]["text"]
        assert finding["fix"]["message"] in result["message"]["text"]
        assert ("suppressions" in result) == finding["suppressed"]
    levels = {r["level"] for r in results}
    assert levels <= {"error", "warning", "note"}
    notes = sarif_run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["message"]["text"].startswith("expired suppression") for n in notes)


def test_sarif_marks_baseline_state(tmp_path: Path, sarif_schema: dict) -> None:
    root = tmp_path / "app"
    shutil.copytree(APP, root)
    baseline = tmp_path / "baseline.json"
    run("audit", "--write-baseline", str(baseline), root=root)
    (root / "shop" / "agents" / "late.py").write_text(
        "from shop.agents import AgentDispatcher\n\ndef late():\n    return AgentDispatcher()\n"
    )
    document = json.loads(run("audit", "-f", "sarif", "--baseline", str(baseline), root=root)[1])
    _validate_sarif(document, sarif_schema)
    states = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r.get("baselineState")
        for r in document["runs"][0]["results"]
        if r.get("baselineState") == "new"
    }
    assert states == {"shop/agents/late.py": "new"}
    suppressed = [r for r in document["runs"][0]["results"] if "suppressions" in r]
    assert suppressed and all("baselineState" not in r for r in suppressed)


# ---------------------------------------------------------------------- JUnit


def test_junit_has_one_case_per_site_and_blocking_sites_fail(tmp_path: Path) -> None:
    output = tmp_path / "junit.xml"
    code, _, _ = run("audit", "-f", "junit", "-o", str(output))
    assert code == 1
    audit = audit_json()
    xml = JUnitXml.fromfile(str(output))
    site_cases = []
    for suite in xml:
        if suite.name.startswith("migrator:"):
            continue
        site_cases.extend(suite)
    assert len(site_cases) == len(audit["findings"])
    failing = [c for c in site_cases if any(isinstance(r, Failure) for r in c.result)]
    skipped = [c for c in site_cases if any(isinstance(r, Skipped) for r in c.result)]
    blocking = [
        f
        for f in audit["findings"]
        if f["kind"] in {k.value for k in DEFAULT_FAIL_ON}
        and not f["suppressed"]
        and not f["baselined"]
    ]
    expired = {
        fp
        for item in audit["suppressions"]
        if item["status"] == "expired"
        for fp in item["fingerprints"]
    }
    assert len(failing) == len(blocking) + len(expired - {f["fingerprint"] for f in blocking})
    assert len(skipped) == sum(1 for f in audit["findings"] if f["suppressed"])
    first = failing[0]
    assert first.classname and first.name.startswith("line ")
    (failure,) = first.result
    assert "fix plan:" in failure.text
    assert not any(isinstance(r, Error) for c in site_cases for r in c.result)
    assert xml.tests == sum(s.tests for s in xml)


# ---------------------------------------------------------------------- GitHub


def test_github_annotations(tmp_path: Path) -> None:
    _, text, _ = run("audit", "-f", "github")
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    audit = audit_json()
    blocking = [
        f
        for f in audit["findings"]
        if f["kind"] in {k.value for k in DEFAULT_FAIL_ON} and not f["suppressed"]
    ]
    assert len(errors) == len(blocking)
    pattern = re.compile(
        r"^::error file=([^,]+),line=(\d+),endLine=\d+,col=(\d+),endColumn=\d+,title=([^:]+)::(.+)$"
    )
    for line in errors:
        match = pattern.match(line)
        assert match, line
        assert "%3A" in match.group(4)  # "migrator: kind" with the colon escaped
        assert "%0AFix plan: " in match.group(5)
    assert any(line.startswith("::notice ") and "(suppressed)" in line for line in lines)
    assert any(line.startswith("::notice ") and "unused suppression" in line for line in lines)
    assert lines[-1].startswith("migrator: 19 site(s), 10 blocking")


# ---------------------------------------------------------------------- Markdown


def test_markdown_summary() -> None:
    _, text, _ = run("audit", "-f", "markdown")
    assert text.startswith("## migrator audit\n")
    assert "❌ **10 blocking**" in text
    assert "### Blocking sites (9)" in text
    assert "### Expired suppressions (1)" in text
    assert "### Suppressed (1)" in text
    assert "| `shop/agents/support.py:13` | legacy-factory |" in text
    assert "unused suppression at shop/agents/support.py:24" in text


# ---------------------------------------------------------------------- exit codes


def test_fail_on_decides_what_blocks(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "a.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n"
        "async def f(user_context):\n    d = ToolDispatcher(user_context)\n    await d.dispatch('x')\n"
    )
    assert run("audit", root=root)[0] == 0
    assert run("audit", "--fail-on", "direct-scoped", root=root)[0] == 1
    result = CliRunner().invoke(app, ["audit", str(root), "--root", str(root), "--fail-on", "nope"])
    assert result.exit_code == 2
    assert "unknown kind 'nope'" in result.stderr


# ---------------------------------------------------------------------- --changed-since


@pytest.fixture
def git_app(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(APP, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def test_changed_since_reports_only_changed_files_with_aliases_from_the_whole_tree(
    git_app: Path,
) -> None:
    # The alias AgentDispatcher is defined in shop/agents/__init__.py, which does not change.
    checkout = git_app / "shop" / "agents" / "checkout.py"
    checkout.write_text(checkout.read_text() + "\n\ndef more():\n    return AgentDispatcher()\n")
    git(git_app, "commit", "-qam", "more checkout")
    (git_app / "billing" / "invoices.py").write_text(
        (git_app / "billing" / "invoices.py").read_text() + "\n# edited, not committed\n"
    )
    (git_app / "billing" / "fresh.py").write_text(
        "from shop.agents import AgentDispatcher\nX = AgentDispatcher()\n"
    )
    (git_app / "NOTES.md").write_text("not python\n")
    document = audit_json(git_app, "--changed-since", "main")
    paths = sorted({f["path"] for f in document["findings"]})
    assert paths == ["billing/fresh.py", "billing/invoices.py", "shop/agents/checkout.py"]
    callees = [f["callee"] for f in document["findings"] if f["path"] == "billing/fresh.py"]
    assert callees == ["AgentDispatcher"]
    full = audit_json(git_app)
    expected = [f for f in full["findings"] if f["path"] in paths]
    assert document["findings"] == expected
    assert document["changed_since"] == "main"


def test_changed_since_with_nothing_changed_passes_without_analysing(git_app: Path) -> None:
    code, text, err = run("audit", "-f", "json", "--changed-since", "main", root=git_app)
    assert code == 0
    assert json.loads(text)["findings"] == []
    assert "no Python files changed since main" in err


def test_changed_since_an_unknown_ref_is_a_usage_error(git_app: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", str(git_app), "--root", str(git_app), "--changed-since", "no-such-branch"]
    )
    assert result.exit_code == 2
    assert "unknown git ref 'no-such-branch'" in result.stderr


def test_changed_since_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(
        app, ["audit", str(tmp_path), "--root", str(tmp_path), "--changed-since", "main"]
    )
    assert result.exit_code == 2
    assert "not inside a git work tree" in result.stderr


# ---------------------------------------------------------------------- --shard and merge


def test_parse_shard() -> None:
    assert parse_shard("2/4") == (2, 4)
    assert parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/4", "5/4", "1/0", "a/b", "1-4", ""):
        with pytest.raises(ShardError):
            parse_shard(bad)


def test_shards_partition_files_deterministically() -> None:
    paths = [f"pkg{i % 7}/mod_{i}.py" for i in range(400)]
    for count in (1, 2, 3, 8):
        owners = [[i for i in range(1, count + 1) if in_shard(p, i, count)] for p in paths]
        assert all(len(o) == 1 for o in owners)
        sizes = [sum(1 for o in owners if o == [i]) for i in range(1, count + 1)]
        assert min(sizes) > 0.6 * len(paths) / count
    assert [shard_of(p, 4) for p in paths[:20]] == [shard_of(p, 4) for p in paths[:20]]
    assert shard_of("a/b.py", 4) == shard_of("a\\b.py", 4)


def test_shards_merge_into_the_full_audit(tmp_path: Path) -> None:
    full = audit_json()
    outputs = []
    seen: list[str] = []
    for index in (1, 2, 3):
        out = tmp_path / f"shard-{index}.json"
        run("audit", "-f", "json", "-o", str(out), "--shard", f"{index}/3")
        shard = json.loads(out.read_text())
        assert shard["shard"] == {"index": index, "count": 3}
        seen += [f["fingerprint"] for f in shard["findings"]]
        outputs.append(str(out))
    assert sorted(seen) == sorted(f["fingerprint"] for f in full["findings"])
    merged_result = CliRunner().invoke(app, ["report", "merge", *outputs])
    assert merged_result.exit_code == 0, merged_result.output
    merged = json.loads(merged_result.stdout)
    assert merged["summary"] == full["summary"]
    assert merged["findings"] == full["findings"]
    assert merged["warnings"] == full["warnings"]
    assert merged["shards"] == {"count": 3, "merged": [1, 2, 3], "missing": []}
    checked = CliRunner().invoke(app, ["report", "merge", *outputs, "--check", "-f", "markdown"])
    assert checked.exit_code == 1
    assert checked.stdout == run("audit", "-f", "markdown")[1]


def test_merge_keeps_a_non_default_fail_on(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    run("audit", "-f", "json", "-o", str(out), "--fail-on", "direct-scoped")
    assert json.loads(out.read_text())["fail_on"] == ["direct-scoped"]
    assert "fail_on" not in audit_json()  # the default run's document is the plain contract
    merged = CliRunner().invoke(app, ["report", "merge", str(out), "--check"])
    assert merged.exit_code == 1
    document = json.loads(merged.stdout)
    assert document["fail_on"] == ["direct-scoped"]
    # The three direct-scoped sites and the expired suppression, which fails the gate
    # (the exit code and Markdown always counted it; the JSON summary now agrees).
    assert document["summary"]["blocking"] == 4


def test_merge_warns_about_a_missing_shard(tmp_path: Path) -> None:
    out = tmp_path / "s1.json"
    run("audit", "-f", "json", "-o", str(out), "--shard", "1/2")
    result = CliRunner().invoke(app, ["report", "merge", str(out)])
    assert result.exit_code == 0
    assert "shard(s) 2/2 missing" in result.stderr
    assert any("2/2 missing" in w for w in json.loads(result.stdout)["warnings"])


def test_merge_refuses_what_is_not_an_audit(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "migrator.report/1"}')
    result = CliRunner().invoke(app, ["report", "merge", str(bad)])
    assert result.exit_code == 2
    assert "not a migrator audit document" in result.stderr
    result = CliRunner().invoke(app, ["report", "merge", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


# ---------------------------------------------------------------------- pre-commit and the workflow


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "migrator-audit"]
    assert hook["entry"].split()[:2] == ["migrator", "audit"]
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # aliases need the whole tree
    assert "python" in hook["types"]


def _workflow() -> dict:
    text = (REPO / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    workflows = [yaml.safe_load(b) for b in blocks if b.startswith("name: migrator")]
    assert len(workflows) == 1
    return workflows[0]


def test_documented_github_workflow_runs(tmp_path: Path) -> None:
    workflow = _workflow()
    steps = workflow["jobs"]["audit"]["steps"]
    assert workflow["permissions"]["security-events"] == "write"
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "migrator"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m migrator "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    shutil.copytree(APP, work)
    # A checkout with the target branch fetched, as `fetch-depth: 0` gives.
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "app")
    git(work, "update-ref", "refs/remotes/origin/main", "HEAD")
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "PYTHONPATH": str(REPO),
    }
    outcomes: dict[str, str] = {}
    printed = ""
    for step in steps:
        if "run" not in step or "pip install" in step["run"]:
            continue
        condition = step.get("if", "")
        if condition.startswith("steps."):
            match = re.match(r"steps\.(\w+)\.outcome == '(\w+)'", condition)
            assert match, condition
            if outcomes.get(match.group(1)) != match.group(2):
                continue
        # GitHub expressions: the target branch is main.
        script = re.sub(r"\$\{\{[^}]*\}\}", "main", step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if not step.get("continue-on-error"):
            if step["name"] == "Gate":
                assert done.returncode == 1
                continue
            assert done.returncode == 0, done.stderr
        if "id" in step:
            outcomes[step["id"]] = "success" if done.returncode == 0 else "failure"
        printed += done.stdout
    assert outcomes == {"audit": "failure"}  # report_app has blocking sites
    sarif = work / upload["with"]["sarif_file"]
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert summary.read_text().startswith("## migrator audit")
    assert "::error file=shop/agents/checkout.py," in printed


def test_an_application_with_its_own_configuration_is_its_own_root(tmp_path: Path) -> None:
    # A repository that bundles two applications defining the same module names: auditing
    # one of them must not resolve names through the other.
    from migrator.config import find_root

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    app_dir = repo / "apps" / "one"
    (app_dir / "pkg").mkdir(parents=True)
    (app_dir / "migrator.yaml").write_text("# a project of its own\n")
    other = repo / "apps" / "two"
    other.mkdir(parents=True)
    assert find_root(app_dir / "pkg") == app_dir
    assert find_root(other) == repo
    assert find_root(repo) == repo


def test_the_bundled_app_is_audited_alone_from_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The README's first command, run from this repository without --root: the legacy
    # app's own sites and aliases only, none from the other fixture trees beside it.
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(
        app, ["audit", "fixtures/legacy_app", "--format", "json", "--no-cache"]
    )
    document = json.loads(result.stdout)
    assert document["findings"]
    paths = {f["path"] for f in document["findings"]}
    assert all(p.startswith(("agent_platform/", "tests/", "scenario")) for p in paths), paths
    assert "fixtures/" not in json.dumps(document.get("aliases", []))
