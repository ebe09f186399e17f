"""`migrator report --history`: counts per commit, read from git objects, reusing unchanged blobs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.config import Config
from migrator.history import module_for, read_history
from migrator.rules import load_rule_set
from tests.helpers import audit_tree

COMPAT = "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher as Dispatcher\n"
AGENTS_V1 = """\
from app.compat import Dispatcher


def lookup():
    return Dispatcher()


async def answer(user_context):
    dispatcher = Dispatcher(None)
    return await dispatcher.dispatch("answer")
"""
AGENTS_V2 = """\
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory

from app.compat import Dispatcher


def lookup():
    return Dispatcher()


async def answer(user_context):
    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context)
    return await dispatcher.dispatch("answer")
"""
BILLING_V1 = """\
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher, create_legacy_tool_dispatcher


def legacy():
    return create_legacy_tool_dispatcher()


async def scoped(user_context):
    dispatcher = ToolDispatcher(user_context)
    await dispatcher.dispatch("charge")
"""
BILLING_V2 = """\
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory


async def legacy(user_context):
    return await UnifiedToolDispatcherFactory.create_request_scoped(user_context)


async def scoped(user_context):
    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context) as dispatcher:
        await dispatcher.dispatch("charge")
"""
TEST_AGENTS = """\
from app.compat import Dispatcher


def test_lookup():
    assert Dispatcher() is not None
"""

KINDS = ("singleton", "legacy-factory", "super-init-none", "direct-scoped", "uncertain", "migrated")


def counts(**values: int) -> dict[str, int]:
    return {kind: values.get(kind.replace("-", "_"), 0) for kind in KINDS}


#: (subject, files to write, expected counts at that commit or None when no Python file changed)
COMMITS = [
    (
        "add agents",
        {"app/__init__.py": "", "app/compat.py": COMPAT, "app/agents.py": AGENTS_V1},
        counts(singleton=2),
    ),
    ("docs", {"README.md": "# app\n"}, None),
    (
        "add billing",
        {"app/billing.py": BILLING_V1},
        counts(singleton=2, legacy_factory=1, direct_scoped=1),
    ),
    (
        "migrate answer",
        {"app/agents.py": AGENTS_V2},
        counts(singleton=1, legacy_factory=1, direct_scoped=1, migrated=1),
    ),
    (
        "add util",
        {"app/util.py": "def add(a, b):\n    return a + b\n"},
        counts(singleton=1, legacy_factory=1, direct_scoped=1, migrated=1),
    ),
    (
        "add tests",
        {"tests/test_agents.py": TEST_AGENTS},
        counts(singleton=2, legacy_factory=1, direct_scoped=1, migrated=1),
    ),
    ("migrate billing", {"app/billing.py": BILLING_V2}, counts(singleton=2, migrated=3)),
]


def git(root: Path, *args: str, date: str = "2024-03-01T12:00:00+00:00") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",  # `git status` must not refresh the index it checks
        "HOME": str(root),
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout


def commit(root: Path, subject: str, files: dict[str, str], day: int) -> str:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", subject, date=f"2024-03-{day:02d}T12:00:00+00:00")
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo_with_history(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shas = [commit(root, subject, files, day) for day, (subject, files, _) in enumerate(COMMITS, 1)]
    return root, shas


def snapshot(root: Path) -> dict[str, object]:
    files = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }
    index = root / ".git" / "index"
    return {
        "status": git(root, "status", "--porcelain", "--ignored"),
        "head": git(root, "rev-parse", "HEAD"),
        "index": (index.read_bytes(), index.stat().st_mtime_ns),
        "files": files,
    }


def _history(root: Path, **kwargs):
    config = Config(root=root, cache=False, jobs=1)
    return read_history(config, load_rule_set([]), **kwargs)


def test_counts_at_each_commit_that_touched_python(
    repo_with_history: tuple[Path, list[str]],
) -> None:
    root, shas = repo_with_history
    before = snapshot(root)
    history = _history(root)
    assert snapshot(root) == before  # no checkout, no index write, no file created
    expected = [
        (sha, want) for sha, (_, _, want) in zip(shas, COMMITS, strict=True) if want is not None
    ]
    assert [p.commit for p in history.points] == [sha for sha, _ in expected]
    assert [p.subject for p in history.points] == [s for s, _, w in COMMITS if w is not None]
    assert [{k.value: n for k, n in p.counts.by_kind.items()} for p in history.points] == [
        want for _, want in expected
    ]
    assert [p.date[:10] for p in history.points] == [
        "2024-03-01",
        "2024-03-03",
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-07",
    ]
    assert [round(p.counts.progress, 4) for p in history.points] == [0.0, 0.0, 0.25, 0.25, 0.2, 0.6]
    # The last point is exactly what a full audit of the (clean) working tree finds.
    assert {k.value: n for k, n in history.points[-1].counts.by_kind.items()} == {
        k.value: n for k, n in audit_tree(root).result.by_kind().items()
    }
    # Unchanged blobs are neither read twice for the prefilter nor parsed twice.
    assert history.stats.reused_points == 1  # "add util" changed no candidate file
    single = _history(root, count=1).stats
    changed_candidates = 2  # agents.py and billing.py each had an older version
    assert history.stats.extractions <= single.extractions + 2 * changed_candidates
    assert history.stats.blobs_read <= 2 * 8  # 8 distinct Python blobs in the whole history


def test_last_n_and_since(repo_with_history: tuple[Path, list[str]]) -> None:
    root, shas = repo_with_history
    last = _history(root, count=3)
    assert [p.subject for p in last.points] == ["add util", "add tests", "migrate billing"]
    since = _history(root, since=shas[2])
    assert [p.subject for p in since.points] == [
        "add billing",
        "migrate answer",
        "add util",
        "add tests",
        "migrate billing",
    ]
    # Only the commits that touched Python files under tests/, counted there.
    narrowed = _history(root, paths=["tests"])
    assert [p.subject for p in narrowed.points] == ["add tests"]
    # Like `migrator audit tests`: the alias module outside the paths is not read.
    assert narrowed.points[0].counts.total == len(audit_tree(root, ["tests"]).result.findings)


def test_report_history_from_the_command_line(repo_with_history: tuple[Path, list[str]]) -> None:
    root, shas = repo_with_history
    before = snapshot(root)["status"]
    result = CliRunner().invoke(
        app, ["report", str(root), "--root", str(root), "--history", "50", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [p["commit"] for p in document["history"]] == [
        s for s, c in zip(shas, COMMITS, strict=True) if c[2]
    ]
    assert [p["remaining"] for p in document["history"]] == [2, 4, 3, 3, 4, 2]
    assert git(root, "status", "--porcelain") == before == ""
    for fmt, marker in (
        ("markdown", "## Trend"),
        ("html", 'data-chart="burndown"'),
        ("console", "Trend"),
    ):
        output = root.parent / f"report.{fmt}"
        result = CliRunner().invoke(
            app,
            [
                "report",
                str(root),
                "--root",
                str(root),
                "--history",
                "4",
                "-f",
                fmt,
                "-o",
                str(output),
            ],
        )
        assert result.exit_code == 0, result.output
        assert marker in output.read_text()


def test_history_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(
        app, ["report", str(tmp_path), "--root", str(tmp_path), "--history", "5"]
    )
    assert result.exit_code == 2
    assert "not inside a git work tree" in result.stderr


def test_fifty_commits_cost_little_more_than_one_run(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    files = {"pkg/__init__.py": "", "pkg/compat.py": COMPAT}
    for index in range(30):
        files[f"pkg/mod_{index}.py"] = AGENTS_V1.replace("app.compat", "pkg.compat")
    commit(root, "start", files, 1)
    for index in range(49):
        body = AGENTS_V2 if index % 2 else AGENTS_V1
        commit(
            root,
            f"edit {index}",
            {f"pkg/mod_{index % 30}.py": body.replace("app.compat", "pkg.compat") + f"# {index}\n"},
            2,
        )
    full = _history(root, count=1).stats
    history = _history(root, count=50)
    assert len(history.points) == 50
    # One full analysis, plus one parse per changed file (and per alias round).
    assert history.stats.extractions <= full.extractions + 2 * 49
    assert history.stats.extractions < 5 * full.extractions


def test_module_names_come_from_the_commit_layout() -> None:
    packages = {"app", "app/sub", "src/pkg"}
    assert module_for("app/sub/mod.py", packages) == ("app.sub.mod", False)
    assert module_for("app/sub/__init__.py", packages) == ("app.sub", True)
    assert module_for("scripts/tool.py", packages) == ("tool", False)
    assert module_for("src/ns/mod.py", set()) == ("ns.mod", False)


def test_last_point_equals_the_audit_of_head_on_a_richer_tree(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "app"
    shutil.copytree(Path(__file__).parent / "data" / "report_app", root)
    (root / "shop" / "words.py").write_text('TITLE = "ToolDispatcher"  # a string, not a site\n')
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "import")
    history = _history(root)
    audit = audit_tree(root).result
    (point,) = history.points
    assert {k.value: n for k, n in point.counts.by_kind.items()} == {
        k.value: n for k, n in audit.by_kind().items()
    }
    assert point.suppressed == sum(1 for f in audit.findings if f.suppressed) == 1
    assert point.errors == len(audit.errors) == 0
