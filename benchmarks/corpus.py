"""Build benchmark corpora: real packages, with dispatcher use woven into real, large modules.

Run from a checkout: ``python benchmarks/corpus.py [--scale 1] [--density 50 15 5]``.

1. Installs a fixed set of large pure-Python packages from the package index into
   ``<dir>/site`` (``pip install --no-deps --target``; ``<dir>`` defaults to the
   git-ignored ``benchmarks/.corpus``), once.
2. Builds ``<dir>/tree-<S>x-d<D>``: S copies of those packages in which one file in D
   has dispatcher sites. The site files are the packages' own modules, chosen among
   those of at least 120 lines with at least 3 functions (larger ones more likely,
   so that the site files average well over 400 lines, as in a real service), and
   dispatcher use is woven into them: constructions inside existing function bodies,
   factories, module-level singletons and getters in application modules; pytest
   fixtures, new test functions and constructions inside existing test methods in test
   modules, which get most of the sites. Every other file is a hard link to the
   installed one (a copy where the file system refuses).

Everything is seeded: the same arguments give the same bytes. The site files of a
sparser corpus are a subset of a denser one's, with the same content, and each copy
of a scaled tree has its own choice of files and its own woven text (identical
copies would let a content-keyed cache do a quarter of the work).

``<tree>/sites.json`` lists the site files (path, lines, whether a test, sites woven);
``bench.py`` edits the first one for its "one file changed" run. The tree has no
``.gitignore``: every tool sees every file. An empty ``.semgrepignore`` switches off
semgrep's default ignore list (which would skip ``tests/`` folders).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus"

#: Pure-Python packages (pinned, so the corpus is the same everywhere).
PACKAGES = (
    "django==5.1.4",
    "twisted==24.11.0",
    "networkx==3.4.2",
    "pip==24.3.1",
    "setuptools==75.6.0",
    "pygments==2.18.0",
    "docutils==0.21.2",
    "ansible-core==2.17.7",
    "sphinx==8.1.3",
    "openpyxl==3.1.5",
    "hypothesis==6.122.3",
    "faker==33.1.0",
)
#: One file in this many has a site: a code base that starts a migration, one in the
#: middle of it, one where the dispatcher is everywhere.
DENSITIES = (50, 15, 5)
#: Bumped whenever the woven text changes, so that stale trees are rebuilt.
WEAVE_VERSION = "weave-2"
#: A host module has at least this many lines and functions (the small ones would
#: pull the site files' average down, and a module needs functions to weave into).
MIN_LINES = 120
MIN_FUNCTIONS = 3
#: Share of the site files that are test modules (they hold most sites: 4 to 8 each,
#: against 1 to 3 in an application module).
TEST_SHARE = 0.4
#: Hosts are drawn with a probability proportional to their lines up to this cap, so
#: that a few 5,000-line data modules do not make every corpus.
WEIGHT_CAP = 1500

_WORDS = (
    "billing",
    "search",
    "chat",
    "ingest",
    "reports",
    "alerts",
    "planner",
    "gateway",
    "support",
    "insights",
    "catalog",
    "payments",
    "inbox",
    "scheduler",
    "notebook",
    "crm",
)

_IMPORTS = {
    "UserExecutionContext": "from netra_backend.app.agents.supervisor.user_execution_context "
    "import UserExecutionContext",
    "ToolDispatcher": "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher",
    "create_legacy_tool_dispatcher": "from netra_backend.app.agents.tool_dispatcher "
    "import create_legacy_tool_dispatcher",
    "create_tool_dispatcher": "from netra_backend.app.agents.tool_dispatcher import create_tool_dispatcher",
    "UnifiedToolDispatcher": "from netra_backend.app.agents.tool_dispatcher_unified "
    "import UnifiedToolDispatcher",
    "UnifiedToolDispatcherFactory": "from netra_backend.app.agents.tool_dispatcher_unified "
    "import UnifiedToolDispatcherFactory",
    "AdminToolDispatcher": "from netra_backend.app.agents.admin_tool_dispatcher.dispatcher_core "
    "import AdminToolDispatcher",
    "AdminToolDispatcherFactory": "from netra_backend.app.agents.admin_tool_dispatcher.factory "
    "import AdminToolDispatcherFactory",
    "pytest": "import pytest",
    "pytest_asyncio": "import pytest_asyncio",
}


@dataclass(frozen=True)
class Host:
    """A module of the installed packages that can receive sites."""

    rel: str  # path relative to the site folder, with '/'
    lines: int
    test: bool


@dataclass(frozen=True)
class SiteFile:
    path: str  # relative to the tree
    lines: int
    test: bool
    sites: int


@dataclass(frozen=True)
class Snippet:
    """Lines to insert (without indentation), the names they need and their sites."""

    lines: tuple[str, ...]
    needs: tuple[str, ...]
    sites: int


def install_site(corpus: Path = CORPUS) -> Path:
    """Install the packages once; a marker file records the exact list."""
    site = corpus / "site"
    marker = site / ".migrator-corpus"
    wanted = "\n".join(PACKAGES)
    if marker.is_file() and marker.read_text() == wanted:
        return site
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-compile",
        "--target",
        str(site),
        *PACKAGES,
    ]
    print("installing the corpus packages:", " ".join(PACKAGES), file=sys.stderr)
    subprocess.run(command, check=True)
    marker.write_text(wanted)
    return site


def _package_dirs(site: Path) -> list[Path]:
    return sorted(
        p
        for p in site.iterdir()
        if p.is_dir()
        and not p.name.endswith((".dist-info", ".data"))
        and p.name not in {"bin", "__pycache__"}
        and any(p.rglob("*.py"))
    )


def _python_files(site: Path) -> Iterator[str]:
    """Every .py file of the packages, relative to `site`, sorted."""
    found: list[str] = []
    for package in _package_dirs(site):
        for folder, dirs, files in os.walk(package):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    found.append(Path(folder, name).relative_to(site).as_posix())
    yield from sorted(found)


def _is_test(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(p in ("test", "tests", "testing") for p in parts[:-1])
    )


def hosts(site: Path) -> list[Host]:
    """The modules that can receive sites, in path order."""
    cache = site / f".hosts-{MIN_LINES}-{MIN_FUNCTIONS}.json"
    if cache.is_file():
        return [Host(**item) for item in json.loads(cache.read_text())]
    found: list[Host] = []
    for rel in _python_files(site):
        data = (site / rel).read_bytes()
        lines = data.count(b"\n")
        if lines < MIN_LINES:
            continue
        try:
            tree = ast.parse(data.decode("utf-8"))
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        functions = sum(
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for node in ast.walk(tree)
        )
        if functions >= MIN_FUNCTIONS:
            found.append(Host(rel, lines, _is_test(rel)))
    cache.write_text(json.dumps([host.__dict__ for host in found]))
    return found


def _draw_order(items: list[Host], rng: random.Random) -> list[Host]:
    """A weighted random order (Efraimidis–Spirakis keys): larger modules come earlier."""
    keyed = [(-math.log(1.0 - rng.random()) / min(host.lines, WEIGHT_CAP), host) for host in items]
    keyed.sort(key=lambda pair: pair[0])
    return [host for _, host in keyed]


# --- weaving -----------------------------------------------------------------


class _Weaver:
    """Weaves dispatcher use into one module's text; deterministic for a given seed."""

    def __init__(self, text: str, rng: random.Random, tag: str) -> None:
        self.text = text
        self.rng = rng
        self.tag = tag  # makes the names unique per copy
        self.lines = text.splitlines(keepends=True)
        self.tree = ast.parse(text)
        self.inserts: list[tuple[int, int, list[str]]] = []  # (line index, order, lines)
        self.needs: set[str] = set()
        self.sites = 0
        self.counter = 0
        self.used_functions: set[int] = set()

    # Names and words ----------------------------------------------------------

    def word(self) -> str:
        self.counter += 1
        return f"{self.rng.choice(_WORDS)}_{self.tag}{self.counter}"

    def tool(self) -> str:
        return self.rng.choice(_WORDS) + "_" + self.rng.choice(("lookup", "sync", "export", "run"))

    def top_functions(self) -> list[str]:
        return [
            node.name
            for node in self.tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and not node.name.startswith("test")
        ]

    def handler(self) -> str:
        """A callable to register as a tool: one of the module's own functions if any."""
        names = self.top_functions()
        return self.rng.choice(names) if names else "repr"

    # Insertion points ---------------------------------------------------------

    def _line_starts_statement(self, node: ast.stmt) -> bool:
        line = self.lines[node.lineno - 1]
        return line[: node.col_offset].strip() == "" and node.col_offset < len(line)

    def bodies(
        self, predicate: Callable[[ast.FunctionDef | ast.AsyncFunctionDef], bool]
    ) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.stmt]]:
        """Functions (and methods) whose first statement after a docstring starts its own line."""
        found = []
        for node in ast.walk(self.tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if id(node) in self.used_functions or not predicate(node):
                continue
            body = node.body
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                if len(body) < 2:
                    continue
                first = body[1]
            if first.lineno <= node.lineno or first.col_offset == 0:
                continue
            if not self._line_starts_statement(first):
                continue
            found.append((node, first))
        found.sort(key=lambda pair: (pair[0].lineno, pair[0].col_offset))
        return found

    def top_level_anchor(self) -> int:
        """The line index before which a top-level definition can go (a def or class)."""
        anchors = [
            min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            for node in self.tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        return self.rng.choice(anchors) if anchors else len(self.lines)

    def import_line(self) -> int:
        """After the docstring and `from __future__` imports."""
        index = 0
        for position, node in enumerate(self.tree.body):
            if position == 0 and (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                index = node.end_lineno or node.lineno
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                index = node.end_lineno or node.lineno
                continue
            break
        return index

    # Placing snippets ---------------------------------------------------------

    def put_in_body(
        self,
        predicate: Callable[[ast.FunctionDef | ast.AsyncFunctionDef], bool],
        make: Callable[[ast.FunctionDef | ast.AsyncFunctionDef], Snippet],
    ) -> bool:
        choices = self.bodies(predicate)
        if not choices:
            return False
        function, first = self.rng.choice(choices)
        self.used_functions.add(id(function))
        line = self.lines[first.lineno - 1]
        indent = line[: first.col_offset]
        snippet = make(function)
        self.inserts.append(
            (first.lineno - 1, len(self.inserts), [indent + text + "\n" for text in snippet.lines])
        )
        self.needs.update(snippet.needs)
        self.sites += snippet.sites
        return True

    def put_top_level(self, snippet: Snippet) -> None:
        at = self.top_level_anchor()
        block = [(text + "\n") if text else "\n" for text in snippet.lines] + ["\n", "\n"]
        self.inserts.append((at, len(self.inserts), block))
        self.needs.update(snippet.needs)
        self.sites += snippet.sites

    def result(self) -> str:
        lines = list(self.lines)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        imports = sorted(_IMPORTS[name] + "\n" for name in self.needs)
        inserts = sorted(self.inserts, key=lambda item: (item[0], item[1]), reverse=True)
        for at, _, block in inserts:
            lines[at:at] = block
        at = self.import_line()
        lines[at:at] = imports
        return "".join(lines)


def _is_async(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return isinstance(function, ast.AsyncFunctionDef)


def _body_snippet(weaver: _Weaver, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Snippet:
    """A construction inside an existing function body, as code mid-migration has them."""
    var = "_" + weaver.word() + "_dispatcher"
    tool = weaver.tool()
    is_method = bool(function.args.args) and function.args.args[0].arg == "self"
    choice = weaver.rng.randrange(6)
    if choice == 0 and is_method:
        return Snippet((f"self.{var.lstrip('_')} = ToolDispatcher()",), ("ToolDispatcher",), 1)
    if choice == 1:
        return Snippet(
            (f"{var} = create_legacy_tool_dispatcher(tools=[])",),
            ("create_legacy_tool_dispatcher",),
            1,
        )
    if choice == 2:
        # A local context: async, a context-manager plan; sync, `not-async`, whose
        # callers are searched for in the whole tree.
        return Snippet(
            (
                f'user_context = UserExecutionContext.from_request(user_id="{tool}", '
                f'thread_id="t-{weaver.counter}", run_id="r-{weaver.counter}")',
                f"{var} = UnifiedToolDispatcher(user_context=user_context)",
                f'{var}.register_tool("{tool}", repr)',
            ),
            ("UserExecutionContext", "UnifiedToolDispatcher"),
            1,
        )
    if choice == 3 and _is_async(function):
        return Snippet(
            (
                f'user_context = UserExecutionContext.from_request(user_id="{tool}", '
                f'thread_id="t-{weaver.counter}", run_id="r-{weaver.counter}")',
                f"{var} = await UnifiedToolDispatcherFactory.create_request_scoped(user_context)",
            ),
            ("UserExecutionContext", "UnifiedToolDispatcherFactory"),
            1,
        )
    if choice == 4:
        return Snippet(
            (f"{var} = UnifiedToolDispatcherFactory.create_legacy_global()",),
            ("UnifiedToolDispatcherFactory",),
            1,
        )
    return Snippet(
        (f"{var} = ToolDispatcher(tools=[])", f'{var}.register_tool("{tool}", repr)'),
        ("ToolDispatcher",),
        1,
    )


def _application_snippets(weaver: _Weaver) -> list[Snippet]:
    """Top-level additions of an application module: factories, singletons, getters."""
    word = weaver.word()
    tool = weaver.tool()
    handler = weaver.handler()
    kinds = [
        Snippet(
            (
                f"async def make_{word}_dispatcher(user_context: UserExecutionContext) -> UnifiedToolDispatcher:",
                "    dispatcher = UnifiedToolDispatcher(user_context=user_context)",
                f'    dispatcher.register_tool("{tool}", {handler})',
                "    return dispatcher",
            ),
            ("UserExecutionContext", "UnifiedToolDispatcher"),
            1,
        ),
        Snippet(
            (f"_{word.upper()}_DISPATCHER = ToolDispatcher(tools=[])",),
            ("ToolDispatcher",),
            1,
        ),
        Snippet(
            (
                f"_{word}_dispatcher = None",
                "",
                "",
                f"def get_{word}_dispatcher():",
                f"    global _{word}_dispatcher",
                f"    if _{word}_dispatcher is None:",
                f"        _{word}_dispatcher = create_tool_dispatcher(tools=[])",
                f"    return _{word}_dispatcher",
            ),
            ("create_tool_dispatcher",),
            1,
        ),
        Snippet(
            (
                f"async def run_{word}(user_context: UserExecutionContext, name: str, **params):",
                "    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context) as dispatcher:",
                "        return await dispatcher.dispatch(name, **params)",
            ),
            ("UserExecutionContext", "UnifiedToolDispatcherFactory"),
            1,
        ),
        Snippet(
            (
                f"def build_{word}_admin(db, user):",
                "    return AdminToolDispatcher(None, None, [], db, user, None)",
            ),
            ("AdminToolDispatcher",),
            1,
        ),
    ]
    return kinds


def _test_snippets(weaver: _Weaver) -> list[Snippet]:
    """Top-level additions of a test module: fixtures and test functions."""
    word = weaver.word()
    tool = weaver.tool()
    handler = weaver.handler()
    return [
        Snippet(
            (
                "@pytest.fixture",
                f"def {word}_dispatcher():",
                "    return ToolDispatcher()",
            ),
            ("pytest", "ToolDispatcher"),
            1,
        ),
        Snippet(
            (
                "@pytest_asyncio.fixture",
                f"async def {word}_scoped_dispatcher(user_context):",
                "    dispatcher = ToolDispatcher(user_context)",
                "    yield dispatcher",
                "    await dispatcher.cleanup()",
            ),
            ("pytest_asyncio", "ToolDispatcher"),
            1,
        ),
        Snippet(
            (
                "@pytest.mark.asyncio",
                f"async def test_{word}_dispatch(user_context):",
                "    dispatcher = UnifiedToolDispatcher(user_context=user_context)",
                f'    dispatcher.register_tool("{tool}", {handler})',
                f'    result = await dispatcher.dispatch("{tool}")',
                "    assert result is not None",
            ),
            ("pytest", "UnifiedToolDispatcher"),
            1,
        ),
        Snippet(
            (
                "@pytest.mark.asyncio",
                f"async def test_{word}_scoped_context(user_context):",
                "    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context) as dispatcher:",
                f'        assert await dispatcher.dispatch("{tool}") is not None',
            ),
            ("pytest", "UnifiedToolDispatcherFactory"),
            1,
        ),
        Snippet(
            (
                f"def test_{word}_legacy_dispatcher_is_shared():",
                "    first = UnifiedToolDispatcherFactory.create_legacy_global()",
                "    second = UnifiedToolDispatcherFactory.create_legacy_global()",
                "    assert first is second",
            ),
            ("UnifiedToolDispatcherFactory",),
            2,
        ),
        Snippet(
            (
                "@pytest.mark.asyncio",
                f"async def test_{word}_admin(user_context, db_session, admin_user):",
                "    dispatcher = await AdminToolDispatcherFactory.create_admin_dispatcher(",
                "        user_context, admin_user, db_session",
                "    )",
                f'    assert await dispatcher.dispatch("{tool}") is not None',
            ),
            ("pytest", "AdminToolDispatcherFactory"),
            1,
        ),
    ]


_CONTEXT_FIXTURE = Snippet(
    (
        "@pytest.fixture",
        "def user_context() -> UserExecutionContext:",
        '    return UserExecutionContext.from_request(user_id="u-1", thread_id="t-1", run_id="r-1")',
    ),
    ("pytest", "UserExecutionContext"),
    0,
)


def weave(text: str, test: bool, seed: str, tag: str) -> tuple[str, int] | None:
    """`text` with dispatcher use woven in and its number of sites, or None if it cannot be."""
    rng = random.Random(seed)
    try:
        weaver = _Weaver(text, rng, tag)
    except (SyntaxError, ValueError):
        return None
    if test:
        weaver.put_top_level(_CONTEXT_FIXTURE)
        for _ in range(rng.randint(2, 4)):
            weaver.put_top_level(rng.choice(_test_snippets(weaver)))
        # Existing test methods and set-ups build dispatchers too.
        for _ in range(rng.randint(2, 4)):
            weaver.put_in_body(
                lambda f: f.name.startswith(("test", "setUp")),
                lambda f: _body_snippet(weaver, f),
            )
    else:
        for _ in range(rng.randint(0, 1)):
            weaver.put_top_level(rng.choice(_application_snippets(weaver)))
        for _ in range(rng.randint(1, 2)):
            weaver.put_in_body(lambda f: True, lambda f: _body_snippet(weaver, f))
    if weaver.sites == 0:
        return None
    woven = weaver.result()
    try:
        compile(woven, "<woven>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return woven, weaver.sites


# --- trees -------------------------------------------------------------------


def tree_path(scale: int, density: int, corpus: Path = CORPUS) -> Path:
    return corpus / f"tree-{scale}x-d{density}"


def _choose(site: Path, count: int, seed: int) -> list[tuple[Host, str, int]]:
    """`count` hosts (a test share of them) with their woven text, in a seeded order."""
    candidates = hosts(site)
    rng = random.Random(f"order:{seed}")
    tests = _draw_order([h for h in candidates if h.test], rng)
    others = _draw_order([h for h in candidates if not h.test], rng)
    wanted_tests = min(round(count * TEST_SHARE), len(tests))
    chosen: list[tuple[Host, str, int]] = []
    for group, wanted in ((tests, wanted_tests), (others, count - wanted_tests)):
        taken = 0
        for host in group:
            if taken >= wanted:
                break
            text = (site / host.rel).read_text(encoding="utf-8")
            woven = weave(text, host.test, f"weave:{seed}:{host.rel}", f"c{seed}")
            if woven is None:
                continue
            chosen.append((host, *woven))
            taken += 1
    return chosen


def build(scale: int = 1, density: int = DENSITIES[0], corpus: Path = CORPUS) -> Path:
    """The tree: `scale` copies of the packages, one file in `density` with sites."""
    site = install_site(corpus)
    tree = tree_path(scale, density, corpus)
    marker = tree / ".migrator-corpus"
    spec = f"{WEAVE_VERSION}\n{scale}\n{density}\n" + "\n".join(PACKAGES)
    if marker.is_file() and marker.read_text() == spec:
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    files = list(_python_files(site))
    manifest: list[SiteFile] = []
    for copy in range(scale):
        prefix = f"copy{copy}/" if scale > 1 else ""
        woven = {
            host.rel: (host, text, sites)
            for host, text, sites in _choose(site, round(len(files) / density), seed=copy)
        }
        for rel in files:
            destination = tree / (prefix + rel)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if rel in woven:
                host, text, sites = woven[rel]
                destination.write_text(text, encoding="utf-8")
                manifest.append(SiteFile(prefix + rel, text.count("\n"), host.test, sites))
                continue
            try:
                os.link(site / rel, destination)
            except OSError:
                shutil.copy2(site / rel, destination)
    (tree / ".semgrepignore").write_text("")
    (tree / "sites.json").write_text(json.dumps([item.__dict__ for item in manifest], indent=1))
    marker.write_text(spec)
    return tree


def site_files(tree: Path) -> list[SiteFile]:
    return [SiteFile(**item) for item in json.loads((tree / "sites.json").read_text())]


@dataclass(frozen=True)
class Size:
    files: int
    lines: int
    bytes: int
    site_files: int
    site_lines_mean: float
    site_lines_median: int
    sites: int
    test_sites: int


def size(tree: Path) -> Size:
    files = lines = total = 0
    for path in tree.rglob("*.py"):
        data = path.read_bytes()
        files += 1
        lines += data.count(b"\n")
        total += len(data)
    woven = site_files(tree)
    counts = sorted(item.lines for item in woven)
    return Size(
        files,
        lines,
        total,
        len(woven),
        sum(counts) / max(len(counts), 1),
        counts[len(counts) // 2] if counts else 0,
        sum(item.sites for item in woven),
        sum(item.sites for item in woven if item.test),
    )


def describe(tree: Path) -> str:
    s = size(tree)
    return (
        f"{tree.name}: {s.files:,} files, {s.lines:,} lines, {s.bytes / 1e6:.1f} MB; "
        f"{s.site_files:,} site files (1 in {s.files / max(s.site_files, 1):.1f}), "
        f"{s.site_lines_mean:.0f} lines on average (median {s.site_lines_median}); "
        f"{s.sites:,} sites woven, {s.test_sites:,} ({s.test_sites / max(s.sites, 1):.0%}) in tests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1], help="copies (default 1)")
    parser.add_argument(
        "--density",
        type=int,
        nargs="+",
        default=list(DENSITIES),
        help="one file in N has sites (default: %(default)s)",
    )
    parser.add_argument(
        "--dir", type=Path, default=CORPUS, help="where to build (default: %(default)s)"
    )
    args = parser.parse_args()
    if any(d < 2 for d in args.density):
        parser.error("--density must be at least 2")
    for scale in args.scale:
        for density in args.density:
            print(describe(build(scale, density, args.dir)), flush=True)


if __name__ == "__main__":
    main()
