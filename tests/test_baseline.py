"""Baselines: known sites are tolerated, only new ones block, and fingerprints survive unrelated edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.baseline import SCHEMA, apply_baseline, load_baseline, save_baseline
from migrator.cli import app
from tests.helpers import audit_tree

SERVICE = """\
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher
from netra_backend.app.agents.tool_dispatcher import create_legacy_tool_dispatcher


def build_report(tools):
    dispatcher = ToolDispatcher(None, tools)
    return dispatcher


async def export(user_context, rows):
    legacy = create_legacy_tool_dispatcher(tools=rows)
    await legacy.dispatch("export", rows=rows)


class Worker:
    def run(self):
        return ToolDispatcher()
"""


def _tree(root: Path, text: str = SERVICE) -> Path:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "service.py").write_text(text)
    return root


def _audit(root: Path, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(
        app, ["audit", str(root), "--root", str(root), "--no-cache", "--format", "json", *args]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def _baseline(root: Path) -> Path:
    path = root / "migrator-baseline.json"
    code, document, err = _audit(root, "--write-baseline", str(path))
    # The run that records the baseline reports its sites as baselined and passes, so
    # the one-time step of a `set -e` CI script does not stop it.
    assert code == 0
    assert "wrote a baseline of 3 site(s)" in err
    blocking = [f for f in document["findings"] if f["kind"] != "migrated" and not f["suppressed"]]
    assert len(blocking) == 3 and all(f["baselined"] for f in blocking)
    return path


def test_written_baseline_is_sorted_json_without_line_dependence(tmp_path: Path) -> None:
    path = _baseline(_tree(tmp_path))
    document = json.loads(path.read_text())
    assert document["schema"] == SCHEMA
    entries = document["entries"]
    assert [(e["path"], e["line"], e["kind"]) for e in entries] == [
        ("app/service.py", 6, "singleton"),
        ("app/service.py", 11, "legacy-factory"),
        ("app/service.py", 17, "singleton"),
    ]
    assert all(len(e["fingerprint"]) >= 16 for e in entries)


def test_baselined_sites_do_not_block(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 0
    assert all(f["baselined"] for f in document["findings"])
    assert document["summary"]["blocking"] == 0
    assert document["baseline"]["matched"] == 3
    assert document["baseline"]["gone"] == []


def test_only_new_sites_block(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    (root / "app" / "new.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n"
        "def fresh():\n    return ToolDispatcher()\n"
    )
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 1
    new = [f for f in document["findings"] if not f["baselined"]]
    assert [(f["path"], f["line"]) for f in new] == [("app/new.py", 4)]
    assert document["baseline"]["new"] == 1


def test_inserting_lines_above_keeps_sites_baselined(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    shifted = SERVICE.replace(
        "\n\ndef build_report",
        '\n\nRETRIES = 3\n"""A docstring\nover\nlines."""\n\n\ndef helper():\n    return RETRIES\n\n\ndef build_report',
    )
    (root / "app" / "service.py").write_text(shifted)
    code, document, _ = _audit(root, "--baseline", str(path))
    lines = sorted(f["line"] for f in document["findings"])
    assert lines == [16, 21, 27]  # every site moved ...
    assert code == 0  # ... and is still tolerated
    assert all(f["baselined"] for f in document["findings"])
    assert document["baseline"]["gone"] == []


def test_reformatting_keeps_sites_baselined(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    reformatted = (
        SERVICE.replace("def build_report(tools):", "def build_report(\n    tools,\n):")
        .replace(
            "ToolDispatcher(None, tools)", "ToolDispatcher(\n        None,\n        tools\n    )"
        )
        .replace(
            'await legacy.dispatch("export", rows=rows)',
            "await legacy.dispatch('export',rows = rows)",
        )
        .replace("class Worker:", "class Worker(object):\n    '''Runs jobs.'''\n")
    )
    (root / "app" / "service.py").write_text(reformatted)
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 0
    assert len(document["findings"]) == 3
    assert all(f["baselined"] for f in document["findings"])


def test_a_second_identical_call_in_the_same_function_is_a_new_site(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    (root / "app" / "service.py").write_text(
        SERVICE.replace(
            "        return ToolDispatcher()\n",
            "        ToolDispatcher()\n        return ToolDispatcher()\n",
        )
    )
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 1
    worker = [f for f in document["findings"] if f["scope"]["function"] == "Worker.run"]
    assert [f["baselined"] for f in worker] == [True, False]
    assert len({f["fingerprint"] for f in worker}) == 2


def test_sites_that_are_gone_are_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    path = _baseline(root)
    migrated = SERVICE.replace(
        "legacy = create_legacy_tool_dispatcher(tools=rows)", "legacy = object()"
    )
    (root / "app" / "service.py").write_text(migrated)
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 0
    gone = document["baseline"]["gone"]
    assert [(g["path"], g["line"], g["kind"]) for g in gone] == [
        ("app/service.py", 11, "legacy-factory")
    ]
    assert any(w.startswith("baseline lists 1 site(s) that are gone") for w in document["warnings"])
    markdown = CliRunner().invoke(
        app,
        [
            "audit",
            str(root),
            "--root",
            str(root),
            "--no-cache",
            "-f",
            "markdown",
            "--baseline",
            str(path),
        ],
    )
    assert "### Gone from the baseline (1)" in markdown.stdout


def test_deleted_file_entries_are_gone_but_unaudited_paths_are_not(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "other").mkdir()
    (root / "other" / "job.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\nJOB = ToolDispatcher()\n"
    )
    path = root / "baseline.json"
    _audit(root, "--write-baseline", str(path))
    # Auditing only app/: the entry in other/ is out of scope, not gone.
    result = CliRunner().invoke(
        app,
        [
            "audit",
            str(root / "app"),
            "--root",
            str(root),
            "--no-cache",
            "-f",
            "json",
            "--baseline",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["baseline"]["gone"] == []
    (root / "other" / "job.py").unlink()
    code, document, _ = _audit(root, "--baseline", str(path))
    assert code == 0
    assert [g["path"] for g in document["baseline"]["gone"]] == ["other/job.py"]


def test_baseline_from_configuration(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _baseline(root)
    (root / "pyproject.toml").write_text('[tool.migrator]\nbaseline = "migrator-baseline.json"\n')
    code, document, _ = _audit(root)
    assert code == 0
    assert document["baseline"]["file"] == "migrator-baseline.json"


def test_an_audit_json_document_works_as_a_baseline(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _, document, _ = _audit(root)
    previous = tmp_path / "previous-audit.json"
    previous.write_text(json.dumps(document))
    assert len(load_baseline(previous)) == 3
    code, _, _ = _audit(root, "--baseline", str(previous))
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file; create it with `migrator audit --write-baseline"),
        ("{not json", "line 1, column 2: invalid JSON"),
        ('{"schema": "other/1", "entries": []}', "unknown schema 'other/1'"),
        ('{"schema": "migrator.baseline/1", "entries": {}}', '"entries" must be a list'),
        (
            '{"schema": "migrator.baseline/1", "entries": [{"path": "a.py"}]}',
            'entries[0]: "fingerprint"',
        ),
    ],
    ids=["missing", "bad-json", "wrong-schema", "entries-not-list", "no-fingerprint"],
)
def test_bad_baselines_are_refused_with_the_file_and_fault(
    tmp_path: Path, content: str | None, message: str
) -> None:
    root = _tree(tmp_path)
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match="baseline") as error:
        load_baseline(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)
    result = CliRunner().invoke(
        app, ["audit", str(root), "--root", str(root), "--no-cache", "--baseline", str(path)]
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_apply_baseline_matches_each_entry_once(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = audit_tree(root).result
    path = tmp_path / "b.json"
    save_baseline(path, result)
    entries = load_baseline(path)
    doubled = apply_baseline(result, entries + entries)
    assert doubled.extra["baseline"]["matched"] == 3
    assert len(doubled.extra["baseline"]["gone"]) == 3  # the duplicates match nothing


@pytest.mark.parametrize(
    "option", [["--shard", "1/2"], ["--changed-since", "HEAD"]], ids=["shard", "changed"]
)
def test_a_partial_run_cannot_write_a_baseline(tmp_path: Path, option: list[str]) -> None:
    root = _tree(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "audit",
            str(root),
            "--root",
            str(root),
            "--write-baseline",
            str(tmp_path / "b.json"),
            *option,
        ],
    )
    assert result.exit_code == 2
    assert "needs a full run" in result.stderr
    assert not (tmp_path / "b.json").exists()
