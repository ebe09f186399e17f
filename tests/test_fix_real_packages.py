"""Fuzz-style: `fix` over every file of large real packages must never crash or break code.

Copies of the standard library's `asyncio` and of the installed `websockets`,
`rich` and `_pytest` packages (hundreds of files) go through `migrator fix` with
a pack aimed at classes they construct inside async functions
(tests/data/packs/asyncio-future.yaml). No file may fail with an
internal error, every rewritten file must still compile, a second run must
change nothing, and files without a site must keep their bytes.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import _pytest
import rich
import websockets

from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import load_rule_set
from tests.conftest import REPO

PACKAGES = {
    "asyncio": Path(asyncio.__file__).parent,
    "websockets": Path(websockets.__file__).parent,
    "rich": Path(rich.__file__).parent,
    "_pytest": Path(_pytest.__file__).parent,
}


def test_fix_over_real_packages(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name, source in PACKAGES.items():
        shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    before = {p: p.read_bytes() for p in root.rglob("*.py")}
    assert len(before) > 200

    rules = load_rule_set([str(REPO / "tests" / "data" / "packs" / "asyncio-future.yaml")])
    config = Config(root=root, cache=False)
    result = write_changes(plan_fixes(config, rules, [str(root)]), root)

    internal = [e for e in result.audit.errors if "internal error" in e.message]
    assert internal == []
    assert [c for c in result.changes if c.error] == []
    assert result.write_errors == ()
    assert len(result.written) >= 3, "the pack should give real rewrites to check"
    rewritten = {root / path for path in result.written}
    for path, data in before.items():
        if path in rewritten:
            compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
        else:
            assert path.read_bytes() == data, path

    again = plan_fixes(config, rules, [str(root)])
    assert [c.path for c in again.changes if c.changed] == []
