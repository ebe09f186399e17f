"""Link facts from CPython's `ast` are exactly LibCST's facts minus what only findings use.

`--shard` and `--changed-since` link the files they do not report on with
`migrator.links` instead of LibCST. That is only sound if, for every file, the
facts it gives are `project(extract(...))`, and if it asks for LibCST's full facts
(`needs_full`) whenever the file may hold a site in a synchronous function (where
a search for callers starts). Both are checked here on generated programs, the
fixtures, real packages and hand-written edge cases; then a focused run is
checked against a full one, and shown to leave the other files to `ast`.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from pathlib import Path

import _pytest
import hypothesmith
import libcst as cst
import pytest
import rich
from hypothesis import HealthCheck, given, settings

import migrator.extract
from migrator.config import Config
from migrator.engine import analyse
from migrator.extract import ExtractionError, extract
from migrator.facts import CallForm
from migrator.links import extract_links, project
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")


def _every_name(tree: ast.Module) -> frozenset[str]:
    """Every identifier in the file: the extractor then records every call it can."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
    return frozenset(found | {"None", "True", "False"})


def _check(text: str, module: str = "pkg.sub.mod", is_package: bool = False) -> None:
    """`extract_links` equals the projection of LibCST's facts, and `needs_full` is sound."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # the engine extracts such a file with LibCST
    for names in (frozenset(), _every_name(tree)):
        try:
            full = extract(text, "f.py", module, is_package, names)
        except (ExtractionError, RecursionError):
            return
        linked = extract_links(tree, "f.py", module, is_package, names)
        assert linked.facts == project(full)
        may_start_search = any(
            call.form is not CallForm.BASE_INIT and call.function >= 0 and not call.scope.is_async
            for call in full.calls
        )
        if may_start_search:
            assert linked.needs_full


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(text: str) -> None:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return
    _check(text)
    _check(text, module="pkg", is_package=True)


def _sources() -> Iterator[Path]:
    yield from sorted(FIXTURES.rglob("*.py"))
    for package in (_pytest, rich):
        yield from sorted(Path(package.__file__).parent.rglob("*.py"))


@pytest.mark.parametrize("path", list(_sources()), ids=lambda path: "/".join(path.parts[-3:]))
def test_real_files(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")


@pytest.mark.parametrize(
    "text",
    [
        "from m import *\nX = None\nY = True\nZ = X\n",
        "from a import D\nfrom b import D\nimport c.d as D2, e.f\nfrom . import g\n"
        "from ..h import (i as j, k)\n",
        "if T:\n    from a import D\nelse:\n    D = None\nE = D\nF: int = E\nG = H = E\n",
        "try:\n    pass\nexcept* E as D:\n    x = D()\n",
        "class A(B):\n    def __init__(self, u, *a, **k):\n"
        "        f = lambda: super().__init__(u)\n        B.__init__(self, None, k=None)\n"
        "        super().__init__(**k)\n        B.__init__(**k)\n",
        "@deco(call())\ndef f(a=make(), *, b=other(), c=lambda x=inner(): x()) -> ret():\n"
        "    return {k(): v() for k in x} | {a(): b(), **c()} | (t() if u() else w())\n",
        "class O:\n    D = D\n    class I(D):\n        def m(self):\n            self.n(); D(); O.I()\n"
        "    def __init__(self, *, k):\n        pass\n",
        "def f():\n    global D\n    D = x\n    def g():\n        nonlocal y\n        return D()\n",
        "def f(D):\n    return D(), [D for D in y], (D := 2)\n",
        "async def f():\n    def g():\n        return Tool()\n    return Tool()\n",
        "class C(*bases, metaclass=M):\n    pass\nclass C:\n    def __init__(self, a, /, b):\n"
        "        pass\n",
        "call(k=1, *a, **b)\nf(x)(y)\n",
        "with a() as (b, [c, *d]), e:\n    for f, *g in h():\n        i += j()\n",
        "match p:\n    case C(a, b=c) if d():\n        pass\n",
    ],
    ids=[
        "star-import-and-named-constants",
        "imports",
        "conditional-import-and-aliases",
        "except-star-binds-nothing",
        "base-init-forms",
        "decorators-defaults-and-source-order",
        "class-scopes",
        "global-and-nonlocal",
        "shadowing",
        "sync-inside-async",
        "class-forms",
        "call-argument-order",
        "with-and-for-targets",
        "match",
    ],
)
def test_syntax_forms(text: str) -> None:
    _check(text)
    _check(text, module="pkg", is_package=True)


def _needs_full(text: str, names: set[str]) -> bool:
    # A name is only a site when it resolves: to an import, as here, or a binding.
    text = "from tools import Tool, Other\n" + text
    return extract_links(ast.parse(text), "f.py", "m", False, frozenset(names)).needs_full


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("def f():\n    return Tool()\n", True),
        ("async def f():\n    return Tool()\n", False),
        ("x = Tool()\nclass C:\n    y = Tool()\n", False),
        ("import functools\ndef f():\n    return functools.partial(Tool, 1)\n", True),
        ("def f():\n    return field(default_factory=Tool)\n", True),
        ("from m import Tool as T\ndef f():\n    return T()\n", True),
        ("def f():\n    return Other()\n", False),
        ("class C(Tool):\n    def __init__(self):\n        super().__init__()\n", False),
    ],
    ids=[
        "call-in-sync-function",
        "call-in-async-function",
        "module-and-class-level",
        "partial",
        "default-factory",
        "renamed-import",
        "unrelated-call",
        "base-init-only",
    ],
)
def test_needs_full(text: str, expected: bool) -> None:
    assert _needs_full(text, {"Tool"}) is expected


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


def test_a_focused_run_reports_what_the_full_run_reports_on_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    extracted: list[str] = []
    real_extract = migrator.extract.extract

    def counting(text: str, relpath: str, *args: object) -> object:
        extracted.append(relpath)
        return real_extract(text, relpath, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(migrator.extract, "extract", counting)
    for focus in sorted(TREE):
        extracted.clear()
        result = analyse(config, rules, [str(tmp_path)], only={focus}).result
        assert result.findings == tuple(f for f in full.findings if f.path == focus), focus
        assert result.aliases == full.aliases
        assert result.warnings == full.warnings
        assert result.files_analysed == full.files_analysed
        # LibCST parses the file in focus, and others only where a site in a sync
        # function may start the search for callers.
        assert set(extracted) <= {focus, "app/sync_site.py"}, focus
        if result.findings:
            assert focus in extracted
