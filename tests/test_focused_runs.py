"""Runs that report on some files and link the others: `--shard` and `--changed-since`.

Every file is extracted the same way whether its findings are reported or not;
a focused run must report exactly what the full run reports on its files, and
the search for callers starts from every function with a `not-async` site.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.config import Config
from migrator.engine import analyse, search_roots
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES


@pytest.mark.parametrize(
    "tree", ["legacy_app", "audit", "manual", "factory_call", "context_manager"], ids=str
)
def test_the_search_for_callers_starts_from_every_not_async_site(tree: str) -> None:
    analysis = analyse(
        Config(root=FIXTURES / tree, jobs=1, cache=False), load_rule_set([]), [str(FIXTURES / tree)]
    )
    not_async = {
        f"{analysis.facts[f.path].module}.{f.scope.function}"
        for f in analysis.result.findings
        if f.fix is not None and f.fix.reason == "not-async" and f.scope.function
    }
    # Equal here; a superset only where one call has several targets.
    assert search_roots(analysis.linker, analysis.facts.values()) == not_async
    if tree in {"audit", "legacy_app", "manual"}:
        assert not_async  # the case is exercised


# ------------------------------------------------------------------ focused runs

TREE = {
    "app/__init__.py": "",
    # An alias chain: discovered in one file, used in others.
    "app/dispatch.py": (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher as TD\n\n"
        "Dispatcher = TD\n"
    ),
    # A subclass whose __init__ drops the context: its sites elsewhere are singletons.
    "app/custom.py": (
        "from app.dispatch import Dispatcher\n\n\nclass MyDispatcher(Dispatcher):\n"
        "    def __init__(self, name):\n        super().__init__()\n"
    ),
    "app/use_alias.py": (
        "from app.dispatch import Dispatcher\n\n\nasync def handle(user_context):\n"
        "    return Dispatcher()\n"
    ),
    "app/use_sub.py": (
        "from app.custom import MyDispatcher\n\n\nasync def go():\n    return MyDispatcher('x')\n"
    ),
    # A site in a sync function, whose caller chain runs through other files.
    "app/sync_site.py": (
        "from app.dispatch import Dispatcher\n\n\ndef build():\n    return Dispatcher()\n"
    ),
    "app/caller.py": "from app import sync_site\n\n\ndef make():\n    return sync_site.build()\n",
    "app/top.py": "from app import caller\n\n\ndef run():\n    return caller.make()\n",
}


def _write(root: Path) -> None:
    for relpath, text in TREE.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_focused_run_reports_what_the_full_run_reports_on_its_files(tmp_path: Path) -> None:
    _write(tmp_path)
    config = Config(root=tmp_path, jobs=1, cache=False)
    rules = load_rule_set([])
    full = analyse(config, rules, [str(tmp_path)]).result
    assert {f.path for f in full.findings} >= {
        "app/use_alias.py",
        "app/use_sub.py",
        "app/sync_site.py",
    }
    chains = [f.fix.async_chain for f in full.findings if f.fix and f.fix.async_chain]
    assert chains == [("app.caller.make", "app.top.run")]

    for focus in sorted(TREE):
        result = analyse(config, rules, [str(tmp_path)], only={focus}).result
        assert result.findings == tuple(f for f in full.findings if f.path == focus), focus
        assert result.aliases == full.aliases
        assert result.warnings == full.warnings
        assert result.files_analysed == full.files_analysed


def test_merged_shards_are_the_full_audit_of_a_tree_linked_across_shards(tmp_path: Path) -> None:
    """Through the command line: aliases, a subclass and a caller chain cross the shards."""
    _write(tmp_path)

    def audit(*extra: str) -> dict[str, object]:
        result = CliRunner().invoke(
            app,
            ["audit", str(tmp_path), "--root", str(tmp_path), "--no-cache", "-f", "json", *extra],
        )
        assert result.exit_code in (0, 1), result.output
        document: dict[str, object] = json.loads(result.stdout)
        return document

    full = audit()
    outputs = []
    reporting = 0
    for index in (1, 2, 3):
        shard = audit("--shard", f"{index}/3")
        reporting += bool(shard["findings"])
        path = tmp_path / f"shard-{index}.json"
        path.write_text(json.dumps(shard), encoding="utf-8")
        outputs.append(str(path))
    assert reporting >= 2  # the sites are spread over the shards
    merged = CliRunner().invoke(app, ["report", "merge", *outputs])
    assert merged.exit_code == 0, merged.output
    document = json.loads(merged.stdout)
    for key in ("summary", "findings", "aliases", "warnings"):
        assert document[key] == full[key], key


def test_audit_never_imports_libcst(tmp_path: Path) -> None:
    """Analysis is CPython's `ast` only: LibCST, eight times slower to parse, is `fix`'s."""
    _write(tmp_path)
    code = (
        "import sys\n"
        "from migrator.cli import app\n"
        "try:\n"
        f'    app(["audit", {str(tmp_path)!r}, "--root", {str(tmp_path)!r}, "--no-cache",\n'
        '         "--jobs", "1", "-f", "json", "-o", "/dev/null"])\n'
        "except SystemExit as done:\n"
        "    print('exit', done.code)\n"
        "print('libcst' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    # Exit 1: the audit ran and found the tree's sites.
    assert done.stdout.strip().splitlines()[-2:] == ["exit 1", "False"], done.stdout + done.stderr
