"""A pull request cannot narrow the gate through its own configuration or baseline.

Each test builds the pull request in a temporary git repository and audits a fresh
clone with docs/ci.md's audit command, which reads the configuration, rule packs
and baseline of the target branch (`--config-from`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.pull_requests import BASE, SINGLETON, audit_clone, git, pull_request

PACK = (Path(__file__).resolve().parent.parent / "rules" / "tool-dispatcher.yaml").read_text()


def _config(text: str) -> str:
    return f"[tool.migrator]\n{text}"


BYPASSES = {
    "new-exclude": {
        "app/new.py": SINGLETON,
        "pyproject.toml": _config('exclude = ["docs/", "app/new.py"]\n'),
    },
    "shorter-fail-on": {
        "app/new.py": SINGLETON,
        "pyproject.toml": _config('exclude = ["docs/"]\nfail_on = ["legacy-factory"]\n'),
    },
    "smaller-max-file-bytes": {
        "app/new.py": SINGLETON,
        "pyproject.toml": _config('exclude = ["docs/"]\nmax_file_bytes = 10\n'),
    },
    "allow-skipped": {
        "app/new.py": SINGLETON + "broken(\n",
        "pyproject.toml": _config('exclude = ["docs/"]\nallow_skipped = ["app/*"]\n'),
    },
    "another-rule-pack": {
        "app/new.py": SINGLETON,
        "pyproject.toml": _config('exclude = ["docs/"]\nrules = ["reference"]\n'),
    },
    "config-in-migrator-yaml": {
        "app/new.py": SINGLETON,
        "migrator.yaml": "exclude: [app/]\n",
    },
}


@pytest.mark.parametrize("change", BYPASSES.values(), ids=BYPASSES.keys())
def test_configuration_in_the_pull_request_does_not_narrow_the_gate(
    change: dict[str, str | bytes | None], tmp_path: Path
) -> None:
    clone = pull_request(tmp_path, change)
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code in (1, 2), audit.stderr
    assert not audit.document["summary"]["passed"]
    reported = audit.document["config_changes"]
    assert reported["base"] == "origin/main"
    assert reported["changes"], "the narrowing is reported"
    assert any(w.startswith("configuration change: ") for w in audit.document["warnings"])
    # What docs/ci.md renders from the JSON keeps them.
    merged = CliRunner().invoke(
        app, ["report", "merge", str(clone / "migrator-audit.json"), "-f", "markdown"]
    )
    assert "configuration change: " in merged.stdout
    document = CliRunner().invoke(app, ["report", "merge", str(clone / "migrator-audit.json")])
    assert json.loads(document.stdout)["config_changes"] == reported


def test_an_edited_rule_pack_is_read_from_the_base_branch(tmp_path: Path) -> None:
    base = {**BASE, "packs/ours.yaml": PACK}
    base["pyproject.toml"] = _config('rules = ["packs/ours.yaml"]\n')
    gutted = PACK.replace("ToolDispatcher", "NothingAtAll")
    clone = pull_request(tmp_path, {"app/new.py": SINGLETON, "packs/ours.yaml": gutted}, base=base)
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 1, audit.stderr
    assert [f["path"] for f in audit.document["findings"] if f["kind"] == "singleton"] == [
        "app/new.py"
    ]
    [change] = audit.document["config_changes"]["changes"]
    assert change == {
        "setting": "rules",
        "message": "the rule pack packs/ours.yaml differs from origin/main's",
    }


def _with_baseline(tmp_path: Path) -> dict[str, str | bytes | None]:
    """The victim with a baseline that lists its direct-scoped site."""
    base: dict[str, str | bytes | None] = dict(BASE)
    base["pyproject.toml"] = _config('baseline = "migrator-baseline.json"\n')
    seed = tmp_path / "seed"
    for relpath, text in base.items():
        (seed / relpath).parent.mkdir(parents=True, exist_ok=True)
        (seed / relpath).write_text(str(text))
    baseline = seed / "migrator-baseline.json"
    done = CliRunner().invoke(
        app,
        ["audit", str(seed), "--root", str(seed), "--no-cache", "--write-baseline", str(baseline)],
    )
    assert done.exit_code == 0, done.output
    assert len(json.loads(baseline.read_text())["entries"]) == 1
    base["migrator-baseline.json"] = baseline.read_text()
    return base


def test_a_baseline_that_grows_in_the_pull_request_does_not_count(tmp_path: Path) -> None:
    base = _with_baseline(tmp_path)

    def baseline_the_new_site(tree: Path) -> None:
        done = CliRunner().invoke(
            app,
            [
                "audit",
                str(tree),
                "--root",
                str(tree),
                "--no-cache",
                "--write-baseline",
                str(tree / "migrator-baseline.json"),
            ],
        )
        assert "wrote a baseline of 2 site(s)" in done.stderr, done.output

    clone = pull_request(
        tmp_path, {"app/new.py": SINGLETON}, base=base, prepare=baseline_the_new_site
    )
    assert "app/new.py" in (clone / "migrator-baseline.json").read_text()
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 1, audit.stderr
    blocking = [f for f in audit.document["findings"] if f["kind"] == "singleton"]
    assert [(f["path"], f["baselined"]) for f in blocking] == [("app/new.py", False)]
    [change] = audit.document["config_changes"]["changes"]
    assert change["setting"] == "baseline"
    assert (
        "lists 1 site(s) that origin/main's does not (app/new.py:3 singleton" in change["message"]
    )


def test_a_baselined_site_whose_kind_changes_is_new(tmp_path: Path) -> None:
    base = _with_baseline(tmp_path)
    # Same function, same call text, same fingerprint: now kept in a global for everyone.
    shared = (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
        "\n"
        "SHARED = None\n"
        "\n"
        "\n"
        "async def handle(user_context):\n"
        "    global SHARED\n"
        "    SHARED = ToolDispatcher(user_context=user_context)\n"
        "    return SHARED\n"
    )
    clone = pull_request(tmp_path, {"app/service.py": shared}, base=base)
    audit = audit_clone(clone, tmp_path / "ci-home")
    [site] = audit.document["findings"]
    entry = json.loads((clone / "migrator-baseline.json").read_text())["entries"][0]
    assert (site["kind"], site["fingerprint"]) == ("singleton", entry["fingerprint"])
    assert entry["kind"] == "direct-scoped"
    assert audit.code == 1, audit.stderr
    assert site["baselined"] is False


def test_config_from_an_unknown_ref_is_a_usage_error(tmp_path: Path) -> None:
    clone = pull_request(tmp_path, {"app/other.py": "x = 1\n"})
    git(clone, "status")
    done = CliRunner().invoke(
        app, ["audit", str(clone), "--root", str(clone), "--no-cache", "--config-from", "nope"]
    )
    assert done.exit_code == 2
    assert "--config-from nope: unknown git ref 'nope'" in done.stderr


def test_a_baseline_outside_the_repository_is_read_as_given(tmp_path: Path) -> None:
    base = dict(BASE)
    base["app/new.py"] = SINGLETON
    clone = pull_request(tmp_path, {"app/other.py": "x = 1\n"}, base=base)
    outside = tmp_path / "ci-baseline.json"
    done = CliRunner().invoke(
        app,
        ["audit", str(clone), "--root", str(clone), "--no-cache", "--write-baseline", str(outside)],
    )
    assert "wrote a baseline of 2 site(s)" in done.stderr, done.output
    audit = audit_clone(clone, tmp_path / "ci-home", "--baseline", str(outside))
    assert audit.code == 0, audit.stderr
    assert audit.document["baseline"]["matched"] == 2
