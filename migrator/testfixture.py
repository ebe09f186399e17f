"""The test-context fixture in the configured conftest, when no test can see one (issue 13).

`fix` gives tests the pack's fixture (`testing.fixture`) as a parameter. pytest
finds a fixture in the test's own module, in a `conftest.py` of its folder or of a
folder above it (up to the root), or in a plugin. When a changed test sees none,
the fixture is defined once in the pack's `testing.conftest` (created if missing,
its imports merged in the file's style). A test that would not see even that
conftest (it is not in a folder above the test) is left unchanged, with the reason:
a test that asks for a fixture nobody defines fails at setup.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from migrator.rules import TestingRule

if TYPE_CHECKING:
    from migrator.fixer import FileChange


def defines(text: str, name: str) -> bool:
    """Whether a module defines `name` at its top level (a fixture, as pytest finds it)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
    return False


def _conftests_above(relpath: str) -> list[str]:
    """The conftest.py paths pytest reads for a test file, nearest first (root included)."""
    folder = PurePosixPath(relpath).parent
    found = []
    while True:
        found.append(str(folder / "conftest.py") if str(folder) != "." else "conftest.py")
        if str(folder) == ".":
            return found
        folder = folder.parent


def _visible(root: Path, change: FileChange, fixture: str, new_text: str) -> bool:
    if defines(new_text, fixture):
        return True
    for conftest in _conftests_above(change.path):
        path = root / conftest
        if path.is_file() and defines(path.read_text(encoding="utf-8", errors="replace"), fixture):
            return True
    return False


def conftest_text(existing: str, testing: TestingRule) -> str:
    """`existing` (a conftest's text, or empty) with the fixture defined and its imports added."""
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    function_text = (
        f"@pytest.fixture\ndef {testing.fixture}():\n"
        '    """A user context of its own for each test (defined by `migrator fix`)."""\n'
        f"    return {testing.build}\n"
    )
    if not existing.strip():
        # A new conftest: standard library, then the project's imports, as isort lays them out.
        lines = ['"""Shared fixtures of the test suite."""', "", "import pytest", ""]
        for name in testing.imports:
            owner, _, imported = name.rpartition(".")
            lines.append(f"from {owner} import {imported}")
        return "\n".join(lines) + "\n\n\n" + function_text
    module = cst.parse_module(existing)
    function = cst.parse_module(function_text).body
    module = module.with_changes(body=[*module.body, *function])
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "pytest")
    for name in testing.imports:
        owner, _, imported = name.rpartition(".")
        AddImportsVisitor.add_needed_import(context, owner, imported)
    code = AddImportsVisitor(context).transform_module(module).code
    # Two blank lines before the new definition, as in the rest of a formatted module.
    head, _, tail = code.rpartition("@pytest.fixture\ndef ")
    return head.rstrip("\n") + "\n\n\n@pytest.fixture\ndef " + tail


def define_fixture(
    root: Path, testing: TestingRule | None, changes: Sequence[FileChange]
) -> list[FileChange]:
    """`changes` with the conftest that defines the fixture, and refusals for tests it cannot reach."""
    from migrator.fixer import FileChange, verify
    from migrator.source import decode, encode

    if testing is None or testing.plugins:
        return list(changes)
    result: list[FileChange] = []
    needed = False
    conftest_folder = PurePosixPath(testing.conftest).parent
    for change in changes:
        if not (change.changed and change.injected and change.new is not None):
            result.append(change)
            continue
        if _visible(root, change, testing.fixture, decode(change.new).text):
            result.append(change)
            continue
        folder = PurePosixPath(change.path).parent
        if str(conftest_folder) == "." or conftest_folder in (folder, *folder.parents):
            needed = True
            result.append(change)
            continue
        result.append(
            replace(
                change,
                new=None,
                error=f"the `{testing.fixture}` fixture is not visible here and the pack's "
                f"testing.conftest ({testing.conftest}) is not above this file; define the "
                "fixture in a conftest.py above it, then run fix again; left unchanged",
            )
        )
    if not needed:
        return result
    path = root / testing.conftest
    original = path.read_bytes() if path.is_file() else b""
    source = decode(original) if original else None
    text = conftest_text(source.text if source is not None else "", testing)
    problem = verify(text, testing.conftest)
    data = encode(source, text) if source is not None else text.encode("utf-8")
    result.append(
        FileChange(
            testing.conftest,
            path,
            original,
            None if problem else data,
            (),
            problem,
            defined=testing.fixture,
            created=not original,
        )
    )
    return result
