"""`_FastVisitor.walk` sees what LibCST's own traversal sees, in the same order.

The extractor's visitors walk the tree with `walk` instead of `node.visit`, which
rebuilds every node. `walk` learns each node type's field order from LibCST and
leaves out layout nodes (whitespace, comments, brackets, punctuation, operators).
So, for any program, the nodes `walk` enters must be exactly the non-layout nodes
LibCST's traversal enters, the same objects in the same order, with `leave` calls
nested the same way, including when a visitor stops descending somewhere.
"""

from __future__ import annotations

from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from migrator import extract as extract_module
from migrator.extract import _FastVisitor
from tests.conftest import REAL_SOURCES, source_id

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning:<string>")


class _Recorder(_FastVisitor):
    """Records ("enter"/"leave", node) events; does not descend into `stop_at` types."""

    def __init__(self, stop_at: tuple[type[cst.CSTNode], ...] = ()) -> None:
        self.events: list[tuple[str, int]] = []
        self.stop_at = stop_at

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("enter", id(node)))
        return not isinstance(node, self.stop_at)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


class _LibcstRecorder(cst.CSTVisitor):
    """The same events through LibCST's traversal, layout nodes filtered out."""

    def __init__(self, stop_at: tuple[type[cst.CSTNode], ...] = ()) -> None:
        self.events: list[tuple[str, int]] = []
        self.stop_at = stop_at

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, extract_module._LAYOUT):
            return False  # nothing below layout is anything but layout
        self.events.append(("enter", id(node)))
        return not isinstance(node, self.stop_at)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not isinstance(original_node, extract_module._LAYOUT):
            self.events.append(("leave", id(original_node)))


def _same_traversal(text: str, stop_at: tuple[type[cst.CSTNode], ...] = ()) -> None:
    tree = cst.parse_module(text)
    ours = _Recorder(stop_at)
    ours.walk(tree)
    theirs = _LibcstRecorder(stop_at)
    # LibCST's visit rebuilds nodes but hands the visitor the originals.
    tree.visit(theirs)
    assert ours.events == theirs.events


@pytest.fixture(autouse=True)
def _fresh_field_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test learns field orders from scratch, so the order of tests cannot matter."""
    monkeypatch.setattr(extract_module, "_FIELDS", {})
    monkeypatch.setattr(extract_module, "_UNSEEN", {})


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(text: str) -> None:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return
    _same_traversal(text)
    _same_traversal(text, stop_at=(cst.FunctionDef, cst.ClassDef, cst.Lambda))


@pytest.mark.parametrize("path", REAL_SOURCES, ids=source_id)
def test_real_files(path: Path) -> None:
    _same_traversal(path.read_text(encoding="utf-8"))


def test_optional_field_seen_late_joins_the_learnt_order() -> None:
    """An f-string expression's format spec is visited only when present.

    The order of `FormattedStringExpression` is first learnt from `{a}` (no spec);
    `{b:{c}}` must still have its spec, and the `c` inside it, visited in place.
    """
    text = 'x = f"{a}"\ny = f"{b:>{c}}"\n'
    _same_traversal(text)
    names: list[str] = []

    class Names(_FastVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.append(node.value)

    Names().walk(cst.parse_module(text))
    assert names == ["x", "a", "y", "b", "c"]


@pytest.mark.parametrize(
    "text",
    [
        "async def f(a: int = 1, *b, c, **d) -> int:\n    return await g(a)[b:c]\n",
        "@d\n@e(1)\nclass C(B, metaclass=M):\n    x: int = 1\n",
        "from . import (a as b, c)\nfrom .m import *\nimport x.y as z\n",
        "with a as (b, c), d:\n    pass\n",
        "try:\n    pass\nexcept* E as e:\n    raise X from e\nelse:\n    del y\nfinally:\n    z = 1\n",
        "match p:\n    case [1, *r] | {'k': v, **kw} if v:\n        pass\n    case C(a, b=c):\n        pass\n",
        "x = [i for i in y if i] + {k: v for k, v in z} + (lambda q=1: q)(2)\n",
        "type T[U: int, *V, **W] = list[U]\n",
        "a = not b and c or d < e <= f is not g\nh += 1\ni = j if k else -l\n",
    ],
    ids=[
        "async-function",
        "decorated-class",
        "imports",
        "with-items",
        "try-star",
        "match",
        "comprehensions-lambda",
        "type-alias",
        "operators",
    ],
)
def test_syntax_forms(text: str) -> None:
    _same_traversal(text)
    _same_traversal(text, stop_at=(cst.FunctionDef, cst.ClassDef, cst.Lambda))
