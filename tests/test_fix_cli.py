"""`migrator fix` on the command line: --diff, --check, the summary, refusals, bad files.

Runs the Typer app in-process with `typer.testing.CliRunner` (standard input is
not a terminal there), plus one real subprocess for `--interactive`. Every test
works on a small tree in a temporary root passed with `--root`, without cache.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from migrator.cli import app

HANDLERS = """\
# Request handlers: one context-manager site and one factory site.
from netra_backend.app.agents.supervisor.user_execution_context import UserExecutionContext
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def quick_answer(user_context: UserExecutionContext, question: str) -> str:
    dispatcher = ToolDispatcher(user_context)
    result = await dispatcher.dispatch("answer", question=question)
    return result.value


async def session_dispatcher(user_context: UserExecutionContext, session) -> None:
    dispatcher = ToolDispatcher(user_context)
    session.dispatcher = dispatcher
"""

HANDLERS_FIXED = """\
# Request handlers: one context-manager site and one factory site.
from netra_backend.app.agents.supervisor.user_execution_context import UserExecutionContext
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory


async def quick_answer(user_context: UserExecutionContext, question: str) -> str:
    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context=user_context) as dispatcher:
        result = await dispatcher.dispatch("answer", question=question)
    return result.value


async def session_dispatcher(user_context: UserExecutionContext, session) -> None:
    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context=user_context)
    session.dispatcher = dispatcher
"""

JOBS = """\
# Background jobs without a user context: two sites left for a person (no-context-in-scope).
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def warm_cache(keys: list) -> int:
    dispatcher = ToolDispatcher()
    return (await dispatcher.dispatch("warm_cache", keys=keys)).value


async def purge_sessions() -> None:
    dispatcher = ToolDispatcher(tools=[])
    await dispatcher.dispatch("purge_expired_sessions")
"""

SYNC = """\
# A synchronous builder: one site left for a person (not-async).
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


def build(user_context):
    return ToolDispatcher(user_context)
"""

MIGRATED = """\
# Already migrated: no change.
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory


async def answer(user_context, question: str) -> str:
    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context=user_context) as dispatcher:
        return (await dispatcher.dispatch("answer", question=question)).value
"""

UTIL = """\
def add(a: int, b: int) -> int:
    return a + b
"""

BROKEN = """\
# Does not parse, but mentions ToolDispatcher so it is a candidate.
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def handler(user_context):
    dispatcher = ToolDispatcher(user_context
"""

# 2001-09-09, in ns: every file starts with this mtime, so a rewrite would surely move it.
OLD = 1_000_000_000_000_000_000


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "app/__init__.py": "",
        "app/handlers.py": HANDLERS,
        "app/jobs.py": JOBS,
        "app/sync.py": SYNC,
        "app/migrated.py": MIGRATED,
        "app/util.py": UTIL,
    }
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(OLD, OLD))
    return root


def _state(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*.py"))
    }


def _fix(root: Path, *options: str) -> Result:
    runner = CliRunner()
    return runner.invoke(
        app,
        ["fix", *options, "--root", str(root), "--no-cache", "--jobs", "1", str(root)],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )


def _apply_unified_diff(files: dict[str, str], diff: str) -> dict[str, str]:
    """Apply a unified diff (as `--diff` prints it) to texts keyed by path; strict about context."""
    result = dict(files)
    lines = diff.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        assert lines[index].startswith("--- a/"), lines[index]
        path = lines[index][len("--- a/") :].strip()
        assert lines[index + 1].startswith(f"+++ b/{path}"), lines[index + 1]
        index += 2
        old = result[path].splitlines(keepends=True)
        new: list[str] = []
        position = 0
        while index < len(lines) and lines[index].startswith("@@"):
            match = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", lines[index])
            assert match, lines[index]
            start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
            new.extend(old[position:start])
            position = start
            index += 1
            while index < len(lines) and lines[index][:1] in {" ", "-", "+", "\\"}:
                kind, text = lines[index][:1], lines[index][1:]
                if kind in {" ", "-"}:
                    assert old[position] == text, (path, position, old[position], text)
                    position += 1
                if kind in {" ", "+"}:
                    new.append(text)
                index += 1
        new.extend(old[position:])
        result[path] = "".join(new)
    return result


def test_diff_prints_a_unified_diff_and_writes_nothing(tree: Path) -> None:
    before = _state(tree)

    result = _fix(tree, "--diff")

    assert result.exit_code == 0, result.output
    assert _state(tree) == before  # bytes and mtimes
    assert result.stdout.startswith("--- a/app/handlers.py\n+++ b/app/handlers.py\n@@ ")
    assert "-    dispatcher = ToolDispatcher(user_context)\n" in result.stdout
    assert (
        "+    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped("
        in result.stdout
    )
    # Only the changed file is in the diff, and the diff is exactly the rewrite `fix` would write.
    assert re.findall(r"^--- a/(\S+)", result.stdout, flags=re.M) == ["app/handlers.py"]
    applied = _apply_unified_diff({"app/handlers.py": HANDLERS}, result.stdout)
    assert applied == {"app/handlers.py": HANDLERS_FIXED}
    assert "1 file(s) would change" in result.stderr


def test_check_exits_1_when_changes_are_pending_and_0_after_fix(tree: Path) -> None:
    before = _state(tree)

    pending = _fix(tree, "--check")
    assert pending.exit_code == 1, pending.output
    assert "1 file(s) would change" in pending.stderr
    assert pending.stdout == ""
    assert _state(tree) == before

    fixed = _fix(tree)
    assert fixed.exit_code == 0, fixed.output
    assert (tree / "app/handlers.py").read_text(encoding="utf-8") == HANDLERS_FIXED

    clean = _fix(tree, "--check")
    assert clean.exit_code == 0, clean.output
    assert "0 file(s) would change" in clean.stderr


def test_summary_counts_rewrites_and_sites_left_by_reason(tree: Path) -> None:
    result = _fix(tree)

    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "1 file(s) changed" in err
    assert "1 site(s) rewritten to context-manager" in err
    assert "1 site(s) rewritten to factory" in err
    assert "Sites left for a person" in err
    # reason, count, first place (box-drawing characters vary with the console, so match loosely)
    assert re.search(r"no-context-in-scope\W+2\W+app/jobs\.py:6\b", err), err
    assert re.search(r"not-async\W+1\W+app/sync\.py:6\b", err), err
    # The most frequent reason comes first.
    assert err.index("no-context-in-scope") < err.index("not-async")


def test_sites_left_stay_readable_in_80_columns(tree: Path) -> None:
    """A long path folds inside its column instead of squeezing the counts to "…"."""
    deep = tree / "app" / "a_rather_long_package_name" / "with_an_even_longer_module_name"
    deep.mkdir(parents=True)
    (deep / "__init__.py").write_text("")
    (deep / "background_jobs_without_any_user_context.py").write_text(
        (tree / "app/jobs.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["fix", "--diff", "--root", str(tree), "--no-cache", "--jobs", "1", str(tree)],
        env={"COLUMNS": "80", "NO_COLOR": "1"},
    )
    table = result.stderr[result.stderr.index("Sites left for a person") :]
    assert "…" not in table, table
    assert re.search(r"no-context-in-scope\W+4\W", table), table
    assert max(len(line) for line in table.splitlines()) <= 80


def test_diff_summary_counts_what_would_change(tree: Path) -> None:
    result = _fix(tree, "--diff")

    assert "1 file(s) would change" in result.stderr
    assert "1 site(s) rewritten to context-manager" in result.stderr
    assert "1 site(s) rewritten to factory" in result.stderr


def test_style_factory_rewrites_context_manager_sites_to_the_factory(tree: Path) -> None:
    result = _fix(tree, "--style", "factory")

    assert result.exit_code == 0, result.output
    assert "2 site(s) rewritten to factory" in result.stderr
    assert "context-manager" not in result.stderr
    text = (tree / "app/handlers.py").read_text(encoding="utf-8")
    assert "async with" not in text
    assert (
        text.count(
            "await UnifiedToolDispatcherFactory.create_request_scoped(user_context=user_context)"
        )
        == 2
    )


def test_bad_style_exits_2_and_writes_nothing(tree: Path) -> None:
    before = _state(tree)

    result = _fix(tree, "--style", "fastest")

    assert result.exit_code == 2
    assert "--style" in result.stderr and "'fastest'" in result.stderr
    assert (
        "auto" in result.stderr
        and "factory" in result.stderr
        and "context-manager" in result.stderr
    )
    assert _state(tree) == before


def test_interactive_refuses_without_a_terminal(tree: Path) -> None:
    before = _state(tree)

    result = _fix(tree, "--interactive")

    assert result.exit_code == 2
    assert "--interactive needs a terminal" in result.stderr
    assert "--diff" in result.stderr  # says what to do instead
    assert _state(tree) == before


def test_interactive_refuses_without_a_terminal_in_a_real_process(tree: Path) -> None:
    before = _state(tree)

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "migrator",
            "fix",
            "--interactive",
            "--root",
            str(tree),
            "--no-cache",
            str(tree),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2, completed.stderr
    assert "needs a terminal" in completed.stderr
    assert _state(tree) == before


def test_interactive_cannot_be_combined_with_diff(tree: Path) -> None:
    result = _fix(tree, "--interactive", "--diff")

    assert result.exit_code == 2
    assert "--interactive" in result.stderr


def test_syntax_error_is_reported_and_skipped_while_other_files_are_fixed(tree: Path) -> None:
    broken = tree / "app/broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    os.utime(broken, ns=(OLD, OLD))

    result = _fix(tree)

    assert result.exit_code == 0, result.output
    assert re.search(r"skipped\W+app/broken\.py: syntax error at line \d+", result.stderr), (
        result.stderr
    )
    assert broken.read_text(encoding="utf-8") == BROKEN
    assert broken.stat().st_mtime_ns == OLD
    assert (tree / "app/handlers.py").read_text(encoding="utf-8") == HANDLERS_FIXED
    assert "1 file(s) changed" in result.stderr


def test_files_without_a_rewritable_site_are_not_touched(tree: Path) -> None:
    before = _state(tree)

    result = _fix(tree)

    assert result.exit_code == 0, result.output
    after = _state(tree)
    untouched = ["app/__init__.py", "app/jobs.py", "app/sync.py", "app/migrated.py", "app/util.py"]
    for relpath in untouched:
        assert after[relpath] == before[relpath], relpath  # same bytes and same mtime
    assert after["app/handlers.py"][1] != OLD
    # No temporary files are left behind.
    assert sorted(p.name for p in (tree / "app").iterdir()) == sorted(
        ["__init__.py", "handlers.py", "jobs.py", "sync.py", "migrated.py", "util.py"]
    )


def test_parallel_rewrites_equal_sequential_ones(tmp_path: Path) -> None:
    """Enough files to use the forked rewrite pool: its result must equal the sequential one."""
    from migrator.config import Config
    from migrator.fixer import _PARALLEL_REWRITES, plan_fixes
    from migrator.rules import load_rule_set
    from tests.conftest import FIXTURES

    source = (FIXTURES / "context_manager" / "basic.before.py").read_bytes()
    for index in range(_PARALLEL_REWRITES + 4):
        (tmp_path / f"handler_{index:02}.py").write_bytes(source)
    rules = load_rule_set([])
    results = [
        plan_fixes(Config(root=tmp_path, cache=False, jobs=jobs), rules, [str(tmp_path)])
        for jobs in (1, 2)
    ]
    sequential, parallel = ([(c.path, c.new, c.error) for c in r.changes] for r in results)
    assert len(sequential) == _PARALLEL_REWRITES + 4
    assert all(new is not None and error is None for _, new, error in sequential)
    assert parallel == sequential
