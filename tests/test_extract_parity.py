"""TEMPORARY: the ast extractor gives LibCST's complete facts (removed at the swap)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from migrator import extract_ast
from migrator.extract import ExtractionError, extract
from tests.conftest import REAL_SOURCES, source_id

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")


def _every_name(tree: ast.Module) -> frozenset[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
    return frozenset(found | {"None", "True", "False"})


def _check(text: str, module: str = "pkg.sub.mod", is_package: bool = False) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
    for names in (frozenset(), _every_name(tree)):
        try:
            full = extract(text, "f.py", module, is_package, names)
        except (ExtractionError, RecursionError):
            return
        new = extract_ast.extract(text, "f.py", module, is_package, names)
        assert new.bindings == full.bindings
        assert new.classes == full.classes
        assert new.functions == full.functions
        for a, b in zip(new.calls, full.calls, strict=False):
            assert a == b
        assert new == full


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(text: str) -> None:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return
    import unicodedata

    if unicodedata.normalize("NFKC", text) != text:
        return  # CPython normalises identifiers (`Ĳ` is `IJ`); LibCST does not
    if "\x0c" in text or "\r" in text.replace("\r\n", ""):
        return
    _check(text)


@pytest.mark.parametrize("path", REAL_SOURCES, ids=source_id)
def test_real_files(path: Path) -> None:
    _check(path.read_text(encoding="utf-8-sig"), is_package=path.name == "__init__.py")
