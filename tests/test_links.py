"""Link facts from CPython's `ast` are exactly LibCST's facts minus what only findings use.

`--shard` and `--changed-since` link the files they do not report on with
`migrator.links` instead of LibCST. That is only sound if, for every file, the
facts it gives are `project(extract(...))`: checked here on generated programs,
the fixtures, real packages and hand-written edge cases. The search for callers
starts from what link facts hold (`search_roots`), which must give the functions
with a `not-async` site. Then a focused run is checked against a full
one, and shown to leave the other files to `ast`.
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import migrator.extract
from migrator.cli import app
from migrator.config import Config
from migrator.engine import analyse, search_roots
from migrator.extract import ExtractionError, extract
from migrator.filestore import extract_linked_source, extract_source
from migrator.links import MAX_DEPTH, extract_links, project
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES, REAL_SOURCES, source_id

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
    """`extract_links` equals the projection of LibCST's facts, whatever the names."""
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
        assert extract_links(tree, "f.py", module, is_package, names) == project(full)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(text: str) -> None:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return
    _check(text)
    _check(text, module="pkg", is_package=True)


@pytest.mark.parametrize("path", REAL_SOURCES, ids=source_id)
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
        "import functools\nfrom m import Tool\nclass K:\n    @classmethod\n    def make(cls):\n"
        "        cls.d = Tool()\n        K.e = x.f = Tool()\n        self.g: T = Tool()\n"
        "@functools.lru_cache\ndef get(field=field(default_factory=Tool)):\n    return Tool()\n"
        "async def g():\n    global G\n    G = await (await Tool())\n    H = Tool()\n",
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
        "where-an-instance-is-stored",
    ],
)
def test_syntax_forms(text: str) -> None:
    _check(text)
    _check(text, module="pkg", is_package=True)


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
        # LibCST parses the file in focus only.
        assert set(extracted) <= {focus}, focus
        if result.findings:
            assert focus in extracted


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


@pytest.mark.parametrize("depth", [200, 300, 750], ids=lambda depth: f"unary-chain-{depth}")
def test_a_deep_file_gets_the_full_extractions_verdict(depth: int) -> None:
    """Deeper than MAX_DEPTH, LibCST decides: a shard refuses what a full run refuses."""
    text = "from m import Tool\n\ndef f():\n    return Tool(" + "-" * depth + "a)\n"
    job = ("f.py", text.encode(), "m", False, frozenset({"Tool"}), frozenset())
    linked, full = extract_linked_source(job)
    reference = extract_source(job)
    assert full is (depth > MAX_DEPTH)
    if full:
        assert linked == reference
    else:
        assert linked[1] == project(reference[1])  # type: ignore[arg-type]
