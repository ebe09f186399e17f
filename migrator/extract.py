"""Extract `FileFacts` from one file with CPython's `ast`.

What: `extract` parses a file once with CPython's parser (written in C) and walks
the tree once, recording what linking, classification, the caller search, shards,
history and `fix` need of it: module bindings (imports, renamed imports, alias
assignments), classes (bases, `__init__` parameters, `self` attributes),
functions (parameters and annotated locals, async or not, what they call), and
each call that can make a site, with its span, its text, its arguments and how
its result is used (bound, escaping, stored where it is shared).

Name resolution is done here, per file, with the scope model of
`migrator.scopes` (module, class and function frames, class bodies not visible
from methods, `global` declarations, parameters and locals shadowing imports).
Only calls whose callee can match a rule are recorded: the written or resolved
last name segment must be one of `names`. Base-class `__init__` calls are always
recorded, since whether the base is a dispatcher is only known after linking.

Conventions kept from the LibCST extractor this replaces, so that fingerprints,
baselines and the codemods' matching stay what they were:

- positions: 1-based lines, 0-based *character* columns; a node's span leaves out
  its own parentheses (CPython counts UTF-8 bytes: converted on the few lines that
  hold a site);
- text: a node's code includes its own parentheses (`(A if c else B)`), sliced
  from the file's lines, never regenerated; the fingerprint's anchor is that text
  without whitespace;
- visiting order is the source order, so calls are recorded in the order LibCST
  visited them;
- LibCST's view of the tree where it differs from `ast`'s: `None`, `True` and
  `False` are names (`X = None` is an alias assignment), a lambda's parameters and
  a comprehension's targets bind nothing in the enclosing scope, `except*` binds
  nothing, an unparenthesized tuple in a subscript is a list of subscript
  elements, not a tuple.

Deep code: the walks use explicit stacks, never one Python frame per nesting
level, so any tree CPython's parser builds is analysed. CPython itself gives up
on some (a 10,000-term `+` chain): the file is then reported as an error.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import cast

from migrator.astfacts import (
    fallback_children,
    hands_out,
    local_values,
    parametrized,
    statement_parts,
)
from migrator.facts import (
    ArgFacts,
    Binding,
    CallFacts,
    CallForm,
    ClassFacts,
    FileFacts,
    FunctionFacts,
    ParamFacts,
    PytestFacts,
    Storage,
)
from migrator.model import Scope, ScopeLevel, Span
from migrator.scopes import (
    CACHE_DECORATORS,
    FACTORY_KEYWORDS,
    Bind,
    absolute_name,
    add_binding,
    block_reach,
    lookup,
    mentions,
    placed_storage,
)

#: The decorators that make a function a pytest fixture.
PYTEST_FIXTURES = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})


def _parametrized_names(node: ast.expr | None) -> list[str]:
    """`"a, b"`, `("a", "b")` or `["a", "b"]`: the names a parametrize binds; `?` when computed."""
    if type(node) is ast.Constant and isinstance(node.value, str):
        return [n.strip() for n in node.value.split(",") if n.strip()]
    if type(node) is ast.Tuple or type(node) is ast.List:
        names: list[str] = []
        for element in node.elts:
            literal = type(element) is ast.Constant and isinstance(element.value, str)
            names.extend(_parametrized_names(element) if literal else ["?"])
        return names
    return ["?"]


__all__ = [
    "SUPPRESSION_RE",
    "ExtractionError",
    "extract",
    "extract_tree",
    "parse",
    "suppression_comments",
]

SUPPRESSION_RE = re.compile(r"#\s*migrator:\s*ignore\b(.*)$")


class ExtractionError(Exception):
    """The file could not be parsed; the message is one line for people."""


# ---------------------------------------------------------------- parsing

#: Python frames `ast.parse` may use above the caller's depth. CPython's parser
#: checks the depth of the tree it builds against the recursion limit, counted from
#: the bottom of the stack: a fixed budget makes the verdict on a deep file the same
#: wherever the parse runs (the main process, or a worker forked from deep inside
#: discovery). 2,000 frames let CPython build about 6,000 levels of nesting.
_FRAME_BUDGET = 2000


@contextmanager
def frame_budget() -> Iterator[None]:
    """Run the body with `_FRAME_BUDGET` Python frames above the current depth."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + _FRAME_BUDGET)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


#: Constructs the running Python may not know: (pattern on the line CPython refused,
#: the Python that parses it, what it is). Checked only when parsing failed.
_NEWER_SYNTAX: tuple[tuple[re.Pattern[str], tuple[int, int], str], ...] = (
    (
        re.compile(r"^\s*((async\s+)?def|class|type)\s+\w+\s*\[[^\]]*\w\s*="),
        (3, 13),
        "a type parameter default `[T = int]` (PEP 696)",
    ),
    (re.compile(r"^\s*type\s+\w+\s*(\[.*\])?\s*="), (3, 12), "a `type` alias (PEP 695)"),
    (
        re.compile(r"^\s*(async\s+)?def\s+\w+\s*\["),
        (3, 12),
        "a generic function `def f[T]()` (PEP 695)",
    ),
    (re.compile(r"^\s*class\s+\w+\s*\["), (3, 12), "a generic class `class C[T]` (PEP 695)"),
    (re.compile(r"^\s*except\s*\*"), (3, 11), "`except*` (PEP 654)"),
)
#: CPython before 3.12 says "f-string: ..." of what PEP 701 allows.
_FSTRING_MESSAGE = re.compile(r"^f-string")


def _newer_python(text: str, error: SyntaxError) -> str | None:
    """Which Python would parse the construct CPython refused, when it is a known one."""
    lines = text.splitlines()
    line = lines[error.lineno - 1] if error.lineno and 0 < error.lineno <= len(lines) else ""
    for pattern, version, what in _NEWER_SYNTAX:
        if sys.version_info < version and pattern.search(line):
            return f"{what} needs Python {version[0]}.{version[1]} or later"
    if sys.version_info < (3, 12) and _FSTRING_MESSAGE.search(str(error.msg or "")):
        return "this f-string may need Python 3.12 or later (PEP 701)"
    return None


def parse(text: str) -> ast.Module:
    """CPython's tree of `text`, or ExtractionError with CPython's message and position."""
    try:
        with warnings.catch_warnings(), frame_budget():
            # The user's own oddities (`"\d"`, `x is 1`) warn; they are not ours to print.
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except SyntaxError as error:
        running = f"{sys.version_info[0]}.{sys.version_info[1]}"
        message = f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
        newer = _newer_python(text, error)
        if newer is not None:
            message += f" ({newer}; migrator runs on Python {running})"
        raise ExtractionError(message) from None
    except (RecursionError, MemoryError):
        raise ExtractionError(
            "too deeply nested for Python's own parser (it gave up building the tree); skipped"
        ) from None
    except ValueError as error:
        raise ExtractionError(f"not Python source: {error}") from None


def suppression_comments(text: str) -> tuple[tuple[int, str], ...]:
    """(line, comment) of each `# migrator: ignore` comment: real comments only, at the
    tokenizer's line (`migrator.suppress.find_suppressions`)."""
    from migrator.suppress import find_suppressions

    return find_suppressions(text)


def extract(
    text: str, relpath: str, module: str, is_package: bool, names: frozenset[str]
) -> FileFacts:
    """Facts of the file `text` (raises ExtractionError when CPython cannot parse it)."""
    return extract_tree(parse(text), text, relpath, module, is_package, names)


def extract_tree(
    tree: ast.Module,
    text: str,
    relpath: str,
    module: str,
    is_package: bool,
    names: frozenset[str],
) -> FileFacts:
    """Facts of a file already parsed by `parse` (one parse per file)."""
    walker = _Walker(_Source(text), module, is_package, names)
    walker.module(tree)
    return FileFacts(
        relpath=relpath,
        module=module,
        is_package=is_package,
        bindings=tuple(walker.bindings),
        classes=tuple(walker.classes),
        functions=tuple(walker.functions),
        calls=tuple(walker.calls),
        suppressions=suppression_comments(text),
    )


# ---------------------------------------------------------------- the source text

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_BLANK = frozenset(" \t\x0c\r\n\\")


class _Source:
    """The file's text, split into lines the way CPython counts them (on demand)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        self._lines: list[str] | None = None

    def _split(self) -> None:
        starts: list[int] = []
        lines: list[str] = []
        for match in _LINE.finditer(self.text):
            starts.append(match.start())
            lines.append(match.group(0))
        starts.append(len(self.text))
        self._starts = starts
        self._lines = lines

    def line(self, number: int) -> str:
        if self._lines is None:
            self._split()
        assert self._lines is not None
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def column(self, line: int, byte_offset: int) -> int:
        """The character column of a UTF-8 byte offset into line `line` (1-based)."""
        text = self.line(line)
        if text.isascii():
            return byte_offset
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))

    def offset(self, line: int, byte_offset: int) -> int:
        """The offset into the text of a position as `ast` gives it."""
        if self._starts is None:
            self._split()
        assert self._starts is not None
        if not 0 < line < len(self._starts):
            return len(self.text)
        return self._starts[line - 1] + self.column(line, byte_offset)

    def range(self, node: ast.AST) -> tuple[int, int]:
        """Text offsets of `node`, its own parentheses left out (as `ast` places it)."""
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def span(self, node: ast.AST) -> Span:
        line: int = node.lineno  # type: ignore[attr-defined]
        end_line: int = node.end_lineno  # type: ignore[attr-defined]
        return Span(
            line,
            self.column(line, node.col_offset),  # type: ignore[attr-defined]
            end_line,
            self.column(end_line, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def outer(self, start: int, end: int, floor: int = 0) -> tuple[int, int]:
        """`start, end` widened over the parentheses that enclose exactly that range.

        `floor`: the first offset that may belong to the node (after the opening
        parenthesis of a call's arguments, which is not an argument's own).
        """
        text = self.text
        size = len(text)
        while True:
            before = start - 1
            while before >= floor and text[before] in _BLANK:
                before -= 1
            if before < floor or text[before] != "(":
                return start, end
            after = end
            while after < size and text[after] in _BLANK:
                after += 1
            if after >= size or text[after] != ")":
                return start, end
            start, end = before, after + 1

    def code(self, node: ast.AST, floor: int = 0, indent: str = "") -> str:
        """The code of `node` with its own parentheses, as LibCST would print it alone.

        LibCST keeps a line break inside brackets apart from the indentation of the
        block the statement is in; printed alone, the node's later lines lose that
        indentation (`indent`).
        """
        start, end = self.range(node)
        if start < floor:
            # A generator expression, the call's only argument, shares its parentheses.
            start, end = floor, end - 1
            while start < end and self.text[start] in _BLANK:
                start += 1
            while end > start and self.text[end - 1] in _BLANK:
                end -= 1
        else:
            start, end = self.outer(start, end, floor)
        code = self.text[start:end]
        if indent and ("\n" in code or "\r" in code):
            return _dedent(code, indent)
        return code

    def after_open_paren(self, start: int) -> int:
        """The offset after the first `(` at or after `start`."""
        found = self.text.find("(", start)
        return found + 1 if found >= 0 else 0

    def parenthesized(self, node: ast.Tuple) -> bool:
        """Whether a tuple is written in parentheses of its own (`x[(a, b)]`, not `x[a, b]`)."""
        if not node.elts:
            return True
        start = self.range(node)[0]
        first = self.outer(*self.range(node.elts[0]))[0]
        return start < first


def _dedent(code: str, indent: str) -> str:
    """`code` with `indent` removed from each line that follows a line break in brackets."""
    import io
    import tokenize

    lines = _LINE.findall(code)
    try:
        breaks = {
            token.start[0]
            for token in tokenize.generate_tokens(io.StringIO(f"({code})").readline)
            if token.type == tokenize.NL or token.type == tokenize.NEWLINE
        }
    except (tokenize.TokenError, SyntaxError):
        return code
    return "".join(
        line[len(indent) :] if number - 1 in breaks and line.startswith(indent) else line
        for number, line in enumerate(lines, start=1)
    )


# ---------------------------------------------------------------- names as LibCST sees them

#: LibCST parses these constants as names: `X = None` is an alias assignment there.
_CONSTANT_NAMES = {None: "None", True: "True", False: "False"}
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: Statements and expressions whose target is bound without an alias value.
_TARGET_ONLY = (ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor)
#: `except*` (Python 3.11+); None before, which no node's type is.
_TRY_STAR = getattr(ast, "TryStar", None)
#: Nodes whose parent `_usage` needs: calls and what can stand between a call and its use.
_PARENTED = (ast.Call, ast.Await, ast.Starred, ast.Tuple)
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
#: Nodes that start a line of their block: a statement, an `except` or a `case` clause.
_BLOCK_LEVEL = (ast.stmt, ast.ExceptHandler, ast.match_case)


def _name(node: ast.AST) -> str | None:
    """The identifier of a LibCST `Name`: an `ast.Name` or a named constant."""
    if type(node) is ast.Name:
        return node.id
    if type(node) is ast.Constant and (node.value is None or type(node.value) is bool):
        return _CONSTANT_NAMES[node.value]
    return None


def _is_name_or_attribute(node: ast.AST) -> bool:
    return type(node) is ast.Attribute or _name(node) is not None


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    base = _name(node)
    if base is None:
        return None
    parts.append(base)
    return ".".join(reversed(parts))


def _is_none(node: ast.AST) -> bool:
    return type(node) is ast.Constant and node.value is None


def _start(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


#: A call's arguments as LibCST lists them: (star, keyword, value) in source order.
_Arg = tuple[str, "str | None", ast.expr]


def _call_args(node: ast.Call) -> list[_Arg]:
    if not node.keywords:
        return [
            ("*", None, arg.value) if type(arg) is ast.Starred else ("", None, arg)
            for arg in node.args
        ]
    merged: list[tuple[tuple[int, int], _Arg]] = []
    for arg in node.args:
        if type(arg) is ast.Starred:
            merged.append((_start(arg), ("*", None, arg.value)))
        else:
            merged.append((_start(arg), ("", None, arg)))
    for keyword in node.keywords:
        if keyword.arg is None:
            merged.append((_start(keyword), ("**", None, keyword.value)))
        else:
            merged.append((_start(keyword), ("", keyword.arg, keyword.value)))
    merged.sort(key=lambda item: item[0])
    return [arg for _, arg in merged]


def _arguments_in_order(arguments: ast.arguments) -> list[ast.AST]:
    """Each parameter's annotation, then its default, in source order."""
    found: list[ast.AST] = []
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(
        arguments.defaults
    )
    pairs: list[tuple[ast.arg, ast.expr | None]] = list(zip(positional, defaults, strict=True))
    if arguments.vararg is not None:
        pairs.append((arguments.vararg, None))
    pairs.extend(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    if arguments.kwarg is not None:
        pairs.append((arguments.kwarg, None))
    for arg, default in pairs:
        if arg.annotation is not None:
            found.append(arg.annotation)
        if default is not None:
            found.append(default)
    return found


#: Fields that hold no node worth visiting: a name's load/store context, operators.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind"})
#: Per node type, its fields that may hold nodes (learnt on first sight).
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes`, in the same order, without contexts and operators.

    A third of a walk's time went to `iter_child_nodes`' generators and to the
    `Load()`/`Store()` node under every name, which nothing here reads.
    """
    kind = type(node)
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        fields = _NODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node under `tree` (contexts and operators left out), parents first, in source order."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(child_nodes(node)))


def _children(node: ast.AST) -> list[ast.AST]:
    """The children of `node` in source order (LibCST's visiting order)."""
    kind = type(node)
    if kind is ast.Call:
        return [node.func, *(value for _, _, value in _call_args(node))]  # type: ignore[arg-type, attr-defined]
    if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
        return [
            *node.decorator_list,  # type: ignore[attr-defined]
            *getattr(node, "type_params", ()),
            *_arguments_in_order(node.args),  # type: ignore[attr-defined]
            *([node.returns] if node.returns is not None else []),  # type: ignore[attr-defined]
            *node.body,  # type: ignore[attr-defined]
        ]
    if kind is ast.ClassDef:
        return [
            *node.decorator_list,  # type: ignore[attr-defined]
            *getattr(node, "type_params", ()),
            *(b.value if type(b) is ast.Starred else b for b in node.bases),  # type: ignore[attr-defined]
            *(k.value for k in node.keywords),  # type: ignore[attr-defined]
            *node.body,  # type: ignore[attr-defined]
        ]
    if kind is ast.Lambda:
        return [*_arguments_in_order(node.args), node.body]  # type: ignore[attr-defined]
    if kind is ast.IfExp:
        return [node.body, node.test, node.orelse]  # type: ignore[attr-defined]
    if kind is ast.Dict:
        found: list[ast.AST] = []
        for key, value in zip(node.keys, node.values, strict=True):  # type: ignore[attr-defined]
            if key is not None:
                found.append(key)
            found.append(value)
        return found
    return child_nodes(node)


# ---------------------------------------------------------------- bindings of one scope


class _Collector:
    """Names bound directly in one scope (not inside nested functions or classes)."""

    def __init__(self, walker: _Walker, root: ast.AST) -> None:
        self.walker = walker
        self.found: dict[str, Bind] = {}
        self.globals: set[str] = set()
        #: (local name, how) of each `import ... as` and `from ... import`, in order.
        self.imports: list[tuple[str, str]] = []
        self.star_imports: list[ast.ImportFrom] = []
        #: The node being visited is the fallback of an optional import.
        self.fallback = False
        start: list[ast.AST]
        if isinstance(root, _FUNCTIONS):
            arguments = root.args
            for arg in (*arguments.posonlyargs, *arguments.args):
                self._add(arg.arg, Bind("local"))
            if arguments.vararg is not None:
                self._add(arguments.vararg.arg, Bind("local"))
            for arg in arguments.kwonlyargs:
                self._add(arg.arg, Bind("local"))
            if arguments.kwarg is not None:
                self._add(arguments.kwarg.arg, Bind("local"))
            start = [*root.decorator_list, *_arguments_in_order(arguments)]
            if root.returns is not None:
                start.append(root.returns)
            start.extend(root.body)
        elif isinstance(root, ast.ClassDef):
            start = [*root.decorator_list, *root.bases, *root.keywords, *root.body]
        else:
            start = child_nodes(root)
        self._walk(start)

    def _add(self, name: str, bind: Bind) -> None:
        if self.fallback and bind.kind != "import":
            # `except ImportError: X = None`, or the `else:` of `if TYPE_CHECKING:`.
            bind.fallback = True
        add_binding(self.found, name, bind)

    def _target(self, target: ast.AST, value: ast.expr | None) -> None:
        stack: list[tuple[ast.AST, ast.expr | None]] = [(target, value)]
        while stack:
            target, value = stack.pop()
            kind = type(target)
            if kind is ast.Name:
                name = target.id  # type: ignore[attr-defined]
                if value is not None and _is_name_or_attribute(value):
                    self._add(name, Bind("alias", node=value))
                elif value is not None and type(value) is ast.IfExp:
                    self._add(name, Bind("choice", node=value))
                else:
                    self._add(name, Bind("local"))
            elif kind is ast.Tuple or kind is ast.List:
                stack.extend((element, None) for element in reversed(target.elts))  # type: ignore[attr-defined]
            elif kind is ast.Starred:
                stack.append((target.value, None))  # type: ignore[attr-defined]

    def _walk(self, start: list[ast.AST]) -> None:
        stack = [(node, False) for node in reversed(start)]
        while stack:
            node, fallback = stack.pop()
            self.fallback = fallback
            children = self._visit(node)
            if children:
                marked = fallback_children(node)
                stack.extend(
                    (child, fallback or id(child) in marked) for child in reversed(children)
                )

    def _visit(self, node: ast.AST) -> list[ast.AST] | None:
        """Record what `node` binds; the children to visit next."""
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            self._add(node.name, Bind("def"))  # type: ignore[attr-defined]
            return None
        if kind is ast.Lambda or kind in _COMPREHENSIONS:
            return None
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname is not None:
                    self._add(alias.asname, Bind("import", (alias.name,)))
                    self.imports.append((alias.asname, "import-as"))
                else:
                    top = alias.name.split(".")[0]
                    self._add(top, Bind("import", (top,)))
            return None
        if kind is ast.ImportFrom:
            assert isinstance(node, ast.ImportFrom)
            if node.names[0].name == "*":
                self.star_imports.append(node)
                return None
            base = node.module or ""
            for alias in node.names:
                local, how = (alias.asname, "import-as") if alias.asname else (alias.name, "import")
                self.imports.append((local, how))
                qualified = self.walker.absolute(node.level, base, alias.name)
                self._add(local, Bind("import", (qualified,)))
            return None
        if kind is ast.Assign:
            assert isinstance(node, ast.Assign)
            for target in node.targets:
                self._target(target, node.value if len(node.targets) == 1 else None)
        elif kind is ast.AnnAssign:
            assert isinstance(node, ast.AnnAssign)
            self._target(node.target, node.value)
        elif kind in _TARGET_ONLY:
            self._target(node.target, None)  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                self._target(node.optional_vars, None)  # type: ignore[attr-defined]
        elif kind is ast.ExceptHandler:
            if node.name is not None:  # type: ignore[attr-defined]
                self._add(node.name, Bind("local"))  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            self.globals.update(node.names)  # type: ignore[attr-defined]
        elif kind is _TRY_STAR:
            # LibCST's `except*` handlers are another node type, which binds nothing.
            children: list[ast.AST] = list(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                children.extend(child_nodes(handler))
            children.extend((*node.orelse, *node.finalbody))  # type: ignore[attr-defined]
            return children
        return child_nodes(node)


# ---------------------------------------------------------------- how a bound name is used

#: Where a name occurs, as LibCST's parent node type says: a declaration to skip,
#: the assignment's own target, a rebinding, or a use (with the escape it implies).
_SKIP, _TARGET, _REBIND, _USE = "skip", "target", "rebind", "use"
_ESCAPES = {
    "return": "returned",
    "yield": "yielded",
    "arg": "passed to a call",
    "element": "stored in a container",
    "value": "stored or aliased",
    "global": "declared global",
}


@dataclass
class _Flow:
    """Uses of a bound name in a function: escapes, reassignments and the count of uses."""

    escape: str | None = None
    reassigned: bool = False
    uses: int = 0
    #: Uses in the statements after the binding, in its block.
    later_uses: int = 0


def _name_kind(
    parent: ast.AST, child: ast.AST, grandparent: ast.AST | None, source: _Source
) -> str:
    """What an `ast.Name` child of `parent` is, in LibCST's terms."""
    kind = type(parent)
    if kind is ast.Call:
        return _USE if child is parent.func else "arg"  # type: ignore[attr-defined]
    if kind is ast.keyword:
        return "arg"
    if kind is ast.Starred:
        return "arg" if type(grandparent) in (ast.Call, ast.ClassDef) else "element"
    if kind is ast.ClassDef:
        return _USE if any(child is d for d in parent.decorator_list) else "arg"  # type: ignore[attr-defined]
    if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.Lambda:
        # A parameter's default: LibCST's parent is the `Param`, whose names it skips.
        arguments = parent.args  # type: ignore[attr-defined]
        if any(child is d for d in (*arguments.defaults, *arguments.kw_defaults)):
            return _SKIP
        return _USE
    if kind is ast.Return:
        return "return"
    if kind is ast.Yield or kind is ast.YieldFrom:
        return "yield"
    if kind is ast.List or kind is ast.Set:
        return "element"
    if kind is ast.Tuple:
        if type(grandparent) is ast.Subscript and grandparent.slice is parent:
            return "element" if source.parenthesized(parent) else _USE  # type: ignore[arg-type]
        return "element"
    if kind is ast.Dict:
        for key, value in zip(parent.keys, parent.values, strict=True):  # type: ignore[attr-defined]
            if child is key or (child is value and key is not None):
                return "element"
        return _USE
    if kind is ast.Assign:
        return "value" if child is parent.value else _TARGET  # type: ignore[attr-defined]
    if kind is ast.AnnAssign:
        if child is parent.target:  # type: ignore[attr-defined]
            return _TARGET
        return "value" if child is parent.value else _USE  # type: ignore[attr-defined]
    if kind is ast.AugAssign:
        return _TARGET if child is parent.target else _USE  # type: ignore[attr-defined]
    if kind is ast.For or kind is ast.AsyncFor or kind is ast.NamedExpr:
        return _REBIND  # LibCST's check is on the parent's type: `for x in d` rebinds d
    if kind is ast.withitem:
        return _REBIND if child is parent.optional_vars else _USE  # type: ignore[attr-defined]
    if kind is ast.Delete:
        return "element" if len(parent.targets) > 1 else _USE  # type: ignore[attr-defined]
    return _USE


def _declared(node: ast.AST, name: str) -> Iterator[str]:
    """The kinds of the names `node` holds as strings (not `ast.Name`) equal to `name`."""
    kind = type(node)
    if kind is ast.Global or kind is ast.Nonlocal:
        for declared in node.names:  # type: ignore[attr-defined]
            if declared == name:
                yield "global"
    elif kind is ast.alias:
        if node.name.split(".")[0] == name:  # type: ignore[attr-defined]
            yield _USE
        if node.asname == name:  # type: ignore[attr-defined]
            yield _REBIND
    elif kind is ast.ImportFrom:
        if node.module is not None and node.module.split(".")[0] == name:  # type: ignore[attr-defined]
            yield _USE
    elif kind is ast.ExceptHandler:
        if node.name == name:  # type: ignore[attr-defined]
            yield _REBIND
    elif kind in (ast.MatchAs, ast.MatchStar):
        if node.name == name:  # type: ignore[attr-defined]
            yield _USE
    elif kind is ast.MatchMapping:
        if node.rest == name:  # type: ignore[attr-defined]
            yield _USE
    elif kind is ast.MatchClass:
        for attribute in node.kwd_attrs:  # type: ignore[attr-defined]
            if attribute == name:
                yield _USE
    elif kind.__name__ in ("TypeVar", "ParamSpec", "TypeVarTuple") and node.name == name:  # type: ignore[attr-defined]
        yield _USE


def _flow(
    root: ast.AST, name: str, origin: ast.AST, later: Sequence[ast.AST], source: _Source
) -> _Flow:
    """How `name`, bound by the statement `origin`, is used in the function `root`."""
    flow = _Flow()
    later_ids = {id(statement) for statement in later}
    # (node, parent, grandparent, closure depth, inside origin, inside a later statement)
    stack: list[tuple[ast.AST, ast.AST | None, ast.AST | None, int, bool, bool]] = [
        (root, None, None, 0, False, False)
    ]
    while stack:
        node, parent, grandparent, depth, in_origin, in_later = stack.pop()
        kinds: Iterator[str] | tuple[str, ...]
        if type(node) is ast.Name:
            if node.id != name:
                continue
            assert parent is not None
            kinds = (_name_kind(parent, node, grandparent, source),)
        else:
            kinds = _declared(node, name)
        for kind in kinds:
            if kind == _SKIP:
                continue
            if kind == _TARGET:
                if not in_origin:
                    flow.reassigned = True
                continue
            if kind == _REBIND:
                flow.reassigned = True
                continue
            flow.uses += 1
            if in_later:
                flow.later_uses += 1
            if flow.escape is None:
                if depth > 0:
                    flow.escape = "captured by a closure"
                elif kind in _ESCAPES:
                    flow.escape = _ESCAPES[kind]
        if type(node) is ast.Name:
            continue
        inner = depth + 1 if node is not root and isinstance(node, _NESTED_SCOPES) else depth
        children = _children(node)
        for child in reversed(children):
            stack.append(
                (
                    child,
                    node,
                    parent,
                    inner,
                    in_origin or child is origin,
                    in_later or id(child) in later_ids,
                )
            )
    return flow


def _block_of(root: ast.AST, statement: ast.AST) -> tuple[list[ast.stmt], int] | None:
    """The statement list holding `statement` under `root`, and its index there."""
    stack = [root]
    while stack:
        node = stack.pop()
        for _, value in ast.iter_fields(node):
            if type(value) is list:
                for index, item in enumerate(value):
                    if item is statement:
                        return value, index
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append(value)
    return None


# ---------------------------------------------------------------- the walk


@dataclass
class _Frame:
    level: ScopeLevel
    qualname: str
    name: str | None
    bindings: dict[str, Bind]
    is_async: bool = False
    globals: set[str] = field(default_factory=set)
    function_index: int = -1
    class_qualname: str | None = None
    first_param: str | None = None
    #: How many lambdas were open when the frame began (a lambda is its own function).
    lambdas: int = 0
    cached: bool = False
    is_classmethod: bool = False
    node: ast.AST | None = None
    calls: list[str] = field(default_factory=list)
    #: Locals annotated in the body, with the qualified names of their annotation.
    annotated: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class _ClassInfo:
    node: ast.ClassDef
    qualname: str
    bases: tuple[str, ...]
    init: tuple[str, ...] | None = None
    star_kwargs: bool = False
    #: `self.<name> = ...` in its methods.
    attributes: set[str] = field(default_factory=set)


#: An item of the walk's stack: a node to visit, or what to do when leaving one.
_Item = ast.AST | Callable[[], None]


class _Walker:
    """Frames and name resolution over `ast`, in source order, with an explicit stack."""

    def __init__(
        self, source: _Source, module: str, is_package: bool, names: frozenset[str]
    ) -> None:
        self.source = source
        self.module_name = module
        self.is_package = is_package
        self.names = names
        self.frames: list[_Frame] = []
        self.classes_open: list[_ClassInfo] = []
        self.lambdas = 0
        self.star_modules: list[str] = []
        self.bindings: list[Binding] = []
        self.classes: list[ClassFacts] = []
        self.functions: list[FunctionFacts] = []
        self.calls: list[CallFacts] = []
        self.alias_lines: dict[str, int] = {}
        #: The parent of each call, await and starred expression (by id; the tree is alive).
        self.parents: dict[int, ast.AST] = {}
        #: The statement (or clause) being walked: its line's indentation is its block's.
        self.statement: ast.AST | None = None

    def absolute(self, level: int, base: str, name: str) -> str:
        return absolute_name(self.module_name, self.is_package, level, base, name)

    # ------------------------------------------------------------ name resolution

    def resolve(self, node: ast.AST, frames: Sequence[_Frame] | None = None) -> tuple[str, ...]:
        """Qualified names `node` may denote, or () when it is not a module-level name."""
        frames = self.frames if frames is None else frames
        found: list[str] = []
        stack: list[tuple[ast.AST, str]] = [(node, "")]
        while stack:
            node, suffix = stack.pop()
            name = _name(node)
            if name is not None:
                found.extend(q + suffix for q in self._lookup(name, frames))
                continue
            kind = type(node)
            if kind is ast.Attribute:
                stack.append((node.value, f".{node.attr}{suffix}"))  # type: ignore[attr-defined]
            elif kind is ast.IfExp:
                stack.append((node.orelse, suffix))  # type: ignore[attr-defined]
                stack.append((node.body, suffix))  # type: ignore[attr-defined]
        return tuple(found)

    def _lookup(self, name: str, frames: Sequence[_Frame]) -> tuple[str, ...]:
        return lookup(name, frames, self.module_name, self.star_modules, self.resolve)

    def interesting(self, written: str | None, targets: tuple[str, ...]) -> bool:
        return mentions(self.names, written, targets)

    def annotation_names(self, annotation: ast.expr | None) -> tuple[str, ...]:
        if annotation is None:
            return ()
        found: list[str] = []
        self._annotation(annotation, found, 0)
        return tuple(dict.fromkeys(found))

    def _annotation(self, expr: ast.AST, found: list[str], depth: int) -> None:
        if depth > 8:
            return
        kind = type(expr)
        if kind is ast.Attribute or _name(expr) is not None:
            found.extend(self.resolve(expr, self.frames[:1]))
        elif kind is ast.Subscript:
            inner = expr.slice  # type: ignore[attr-defined]
            if type(inner) is ast.Tuple and not self.source.parenthesized(inner):
                elements = [e.value if type(e) is ast.Starred else e for e in inner.elts]
            else:
                elements = [inner]
            for element in elements:
                if type(element) is not ast.Slice:
                    self._annotation(element, found, depth + 1)
        elif kind is ast.BinOp:
            self._annotation(expr.left, found, depth + 1)  # type: ignore[attr-defined]
            self._annotation(expr.right, found, depth + 1)  # type: ignore[attr-defined]
        elif type(expr) is ast.Constant and type(expr.value) is str and self._simple_string(expr):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    inner_tree = ast.parse(expr.value, mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return
            self._annotation(inner_tree.body, found, depth + 1)

    def _simple_string(self, node: ast.Constant) -> bool:
        """One string literal, not an implicit concatenation (which LibCST does not read)."""
        import io
        import tokenize

        code = self.source.code(node)
        try:
            tokens = [
                t
                for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type == tokenize.STRING
            ]
        except (tokenize.TokenError, SyntaxError):
            return False
        return len(tokens) == 1

    # ------------------------------------------------------------ the walk

    def walk(self, start: Sequence[ast.AST]) -> None:
        stack: list[_Item] = list(reversed(start))
        while stack:
            item = stack.pop()
            if not isinstance(item, ast.AST):
                item()
                continue
            kind = type(item)
            children: list[ast.AST]
            if isinstance(item, _BLOCK_LEVEL):
                self.statement = item
            if kind is ast.Call:
                children = self.call(item)  # type: ignore[arg-type]
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
                # Decorators, defaults, annotations, bases and class keywords run once, when
                # the definition runs, in the enclosing scope: a dispatcher built there is
                # shared by every call (issue 15, bypass 7). They are walked in the outer
                # frame; only the body is walked inside the new one.
                children = _children(item)
                body: list[ast.AST] = item.body  # type: ignore[attr-defined]
                outside = children[: len(children) - len(body)]
                self._enter_definition(stack, item, body)
                children = outside
            elif kind is ast.Lambda:
                self.lambdas += 1
                stack.append(self._leave_lambda)
                children = _children(item)
            else:
                if kind is ast.Assign or kind is ast.AnnAssign:
                    self._note_assignment(item)  # type: ignore[arg-type]
                children = _children(item)
            parents = self.parents
            for child in reversed(children):
                if isinstance(child, _PARENTED):
                    parents[id(child)] = item
                stack.append(child)

    def _enter_definition(self, stack: list[_Item], node: ast.AST, body: list[ast.AST]) -> None:
        """Push, below what is on top now: enter `node`'s frame, its body, leave the frame."""
        leaves: list[Callable[[], None]] = []

        def enter() -> None:
            if isinstance(node, ast.ClassDef):
                leaves.append(self.class_(node))
            else:
                assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                leaves.append(self.function(node))

        stack.append(lambda: leaves.pop()())
        parents = self.parents
        for child in reversed(body):
            if isinstance(child, _PARENTED):
                parents[id(child)] = node
            stack.append(child)
        stack.append(enter)

    def _leave_lambda(self) -> None:
        self.lambdas -= 1

    def module(self, tree: ast.Module) -> None:
        collector = _Collector(self, tree)
        frame = _Frame(ScopeLevel.MODULE, self.module_name, None, collector.found, node=tree)
        self.frames.append(frame)
        for star in collector.star_imports:
            self.star_modules.append(self.absolute(star.level, star.module or "", "").rstrip("."))
        imports = [
            (local, how)
            for local, how in collector.imports
            if (bind := collector.found.get(local)) is not None and bind.kind == "import"
        ]
        self.walk(tree.body)
        lines: dict[str, int] = {}
        for statement in tree.body:
            if type(statement) is ast.Import or type(statement) is ast.ImportFrom:
                for alias in statement.names:
                    if alias.name == "*":
                        break
                    local = alias.asname or alias.name.split(".")[0]
                    lines.setdefault(local, statement.lineno)
        for local, how in imports:
            target = collector.found[local].targets[0]
            self.bindings.append(
                Binding(f"{self.module_name}.{local}", target, lines.get(local, 0), how)
            )
        for name, bind in frame.bindings.items():
            if bind.kind == "alias" and bind.count == 1 and bind.node is not None:
                targets = self.resolve(bind.node, [frame])
                if targets:
                    self.bindings.append(
                        Binding(
                            f"{self.module_name}.{name}",
                            targets[0],
                            self.alias_lines.get(name, 0),
                            "assign",
                        )
                    )
        self.frames.pop()

    def _note_assignment(self, node: ast.Assign | ast.AnnAssign) -> None:
        frame = self.frames[-1]
        if type(node) is ast.Assign:
            targets = node.targets
            if len(self.frames) == 1 and len(targets) == 1 and type(targets[0]) is ast.Name:
                self.alias_lines.setdefault(targets[0].id, node.lineno)
        else:
            target = node.target  # type: ignore[union-attr]
            targets = [target]
            if frame.level is ScopeLevel.FUNCTION and type(target) is ast.Name:
                frame.annotated[target.id] = self.annotation_names(node.annotation)  # type: ignore[union-attr]
        if frame.first_param and self.classes_open:
            # `self.user_context = ...` in a method: the class has a context attribute.
            for target in targets:
                if type(target) is ast.Attribute and _name(target.value) == frame.first_param:
                    self.classes_open[-1].attributes.add(target.attr)

    def _pytest_facts(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> PytestFacts:
        """The fixture scope and parametrised names pytest reads from the decorators."""
        fixture, scope, bound = False, "function", []
        for decorator in node.decorator_list:
            name = self._decorator_name(decorator)
            call = decorator if type(decorator) is ast.Call else None
            if name in PYTEST_FIXTURES:
                fixture = True
                for keyword in call.keywords if call is not None else ():
                    if keyword.arg == "scope":
                        value = keyword.value
                        literal = type(value) is ast.Constant and isinstance(value.value, str)
                        scope = str(value.value) if literal else "?"  # type: ignore[attr-defined]
            elif name == "pytest.mark.parametrize" and call is not None:
                first = call.args[0] if call.args else None
                for keyword in call.keywords:
                    if keyword.arg == "argnames":
                        first = keyword.value
                bound.extend(_parametrized_names(first))
        return PytestFacts(
            fixture=fixture,
            scope=scope,
            parametrized=tuple(bound),
            returns=self.annotation_names(node.returns) if node.returns is not None else None,
        )

    def _decorator_name(self, expr: ast.expr) -> str:
        if type(expr) is ast.Call:
            expr = expr.func
        resolved = self.resolve(expr, self.frames[:1])
        if resolved:
            return resolved[0]
        return _dotted(expr) or ""

    def _names_a_class(self, frame: _Frame, name: str) -> bool:
        """`name.attr = ...` stores on a class: `cls` in a classmethod, or a class by name."""
        if frame.is_classmethod and name == frame.first_param:
            return True
        if any(info.node.name == name for info in self.classes_open):
            return True
        bind = self.frames[0].bindings.get(name)
        return bind is not None and bind.kind == "def" and name[:1].isupper()

    def class_(self, node: ast.ClassDef) -> Callable[[], None]:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name}"
        bases = tuple(
            target
            for base in node.bases
            for target in self.resolve(base.value if type(base) is ast.Starred else base)
        )
        collector = _Collector(self, node)
        self.frames.append(
            _Frame(ScopeLevel.CLASS, qualname, node.name, collector.found, node=node)
        )
        info = _ClassInfo(node, qualname, bases)
        self.classes_open.append(info)

        def leave() -> None:
            self.classes_open.pop()
            self.frames.pop()
            self.classes.append(
                ClassFacts(
                    name=node.name,
                    qualname=qualname,
                    line=node.lineno,
                    bases=bases,
                    init_params=info.init,
                    init_star_kwargs=info.star_kwargs,
                    self_attributes=tuple(sorted(info.attributes)),
                )
            )

        return leave

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Callable[[], None]:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name}"
        collector = _Collector(self, node)
        class_qualname = outer.qualname if outer.level is ScopeLevel.CLASS else None
        decorators = [self._decorator_name(d) for d in node.decorator_list]
        arguments = node.args
        params = [*arguments.posonlyargs, *arguments.args]
        first_param = params[0].arg if params else None
        is_async = type(node) is ast.AsyncFunctionDef
        frame = _Frame(
            ScopeLevel.FUNCTION,
            qualname,
            node.name,
            collector.found,
            is_async=is_async,
            globals=collector.globals,
            function_index=len(self.functions),
            class_qualname=class_qualname,
            first_param=first_param if class_qualname else None,
            lambdas=self.lambdas,
            cached=any(d in CACHE_DECORATORS for d in decorators),
            is_classmethod="classmethod" in decorators,
            node=node,
        )
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=node.name,
                is_async=is_async,
                line=node.lineno,
                params=tuple(
                    ParamFacts(p.arg, self.annotation_names(p.annotation), p.annotation is not None)
                    for p in (*params, *arguments.kwonlyargs)
                ),
                annotated_locals=(),
                class_qualname=class_qualname,
                calls=(),
                pytest=self._pytest_facts(node),
            )
        )
        self.frames.append(frame)
        if class_qualname and node.name == "__init__" and self.classes_open:
            info = self.classes_open[-1]
            info.init = tuple(p.arg for p in params[1:])
            info.star_kwargs = arguments.kwarg is not None

        assigned, returns = local_values(node, self.source.code)
        given = parametrized(node, self.source.code)

        def leave() -> None:
            self.frames.pop()
            self.functions[frame.function_index] = replace(
                self.functions[frame.function_index],
                annotated_locals=tuple(
                    ParamFacts(name, found, True) for name, found in frame.annotated.items()
                ),
                assigned=assigned,
                returns=returns,
                parametrized=given,
                calls=tuple(dict.fromkeys(frame.calls)),
            )

        return leave

    # ------------------------------------------------------------ calls

    def call(self, node: ast.Call) -> list[ast.AST]:
        """Record what the call is; its children (callee, then argument values)."""
        frame = self.frames[-1]
        func = node.func
        targets = self.resolve(func)
        written = _dotted(func)
        if frame.level is ScopeLevel.FUNCTION:
            if targets:
                frame.calls.append(targets[0])
            elif (
                written
                and frame.first_param
                and written.startswith(frame.first_param + ".")
                and frame.class_qualname
            ):
                frame.calls.append(f"{frame.class_qualname}.{written.split('.', 1)[1]}")
        args = _call_args(node)
        self._sites(node, targets, written, args)
        return [func, *(value for _, _, value in args)]

    def _sites(
        self, node: ast.Call, targets: tuple[str, ...], written: str | None, args: list[_Arg]
    ) -> None:
        func = node.func
        for _, keyword, value in args:
            if keyword in FACTORY_KEYWORDS:
                ref_targets = self.resolve(value)
                if ref_targets and self.interesting(_dotted(value), ref_targets):
                    self._record(node, value, CallForm.FACTORY_REF, ref_targets, [], site=value)
        base_init = self._base_init(func, args)
        if base_init is not None:
            self._record(node, func, CallForm.BASE_INIT, *base_init)
            return
        if targets and "functools.partial" in targets and args and args[0][1] is None:
            inner = args[0][2]
            inner_targets = self.resolve(inner)
            if inner_targets and self.interesting(_dotted(inner), inner_targets):
                self._record(node, inner, CallForm.PARTIAL, inner_targets, args[1:])
            return
        if self._is_choice(func):
            if targets and self.interesting(None, targets):
                self._record(node, func, CallForm.RUNTIME_CHOICE, targets, args)
            return
        if targets and self.interesting(written, targets):
            self._record(node, func, CallForm.CALL, targets, args)
        elif type(func) is ast.Attribute and func.attr in self.names:
            # `factory.create_scoped_dispatcher(...)`: a method called on an object (a
            # pack's `factory_methods`, a derived factory). The receiver's class, when
            # it is known, is the target's owner.
            self._record(node, func, CallForm.CALL, self._receiver(func), args)

    def _receiver(self, func: ast.Attribute) -> tuple[str, ...]:
        """`Class.method` for `self.method` in a method of Class, or `Class().method`."""
        value = func.value
        frame = next((f for f in reversed(self.frames) if f.level is ScopeLevel.FUNCTION), None)
        if (
            frame is not None
            and frame.class_qualname
            and frame.first_param
            and _name(value) == frame.first_param
        ):
            return (f"{frame.class_qualname}.{func.attr}",)
        if type(value) is ast.Call:
            return tuple(f"{owner}.{func.attr}" for owner in self.resolve(value.func))
        return ()

    def _is_choice(self, func: ast.expr) -> bool:
        if type(func) is ast.IfExp:
            return True
        name = _name(func)
        if name is not None:
            for frame in reversed(self.frames):
                bind = frame.bindings.get(name)
                if bind is not None:
                    return bind.kind == "choice" and frame.level is ScopeLevel.FUNCTION
        return False

    def _base_init(
        self, func: ast.expr, args: list[_Arg]
    ) -> tuple[tuple[str, ...], list[_Arg]] | None:
        if not (type(func) is ast.Attribute and func.attr == "__init__"):
            return None
        frame = self.frames[-1]
        if (
            frame.level is not ScopeLevel.FUNCTION
            or frame.name != "__init__"
            or not self.classes_open
        ):
            return None
        value = func.value
        if type(value) is ast.Call and _name(value.func) == "super":
            return self.classes_open[-1].bases, args
        if _is_name_or_attribute(value):
            resolved = self.resolve(value)
            if resolved and args and args[0][1] is None:
                return resolved, args[1:]
        return None

    def _floor(self, node: ast.AST) -> int:
        """Where `node`'s own parentheses may start: after its parent's argument list opens."""
        parent = self.parents.get(id(node))
        if type(parent) is ast.Call and node is not parent.func:
            return self.source.after_open_paren(
                self.source.outer(*self.source.range(parent.func))[1]
            )
        if type(parent) is ast.ClassDef and not any(node is d for d in parent.decorator_list):
            return self.source.after_open_paren(self.source.range(parent)[0])
        if type(parent) is ast.withitem and isinstance(self.statement, (ast.With, ast.AsyncWith)):
            return self._with_floor(self.statement)
        return 0

    def _with_floor(self, statement: ast.With | ast.AsyncWith) -> int:
        """After the parenthesis that `with (...):` puts around all its items, if any
        (LibCST's `With.lpar`), else 0."""
        source = self.source
        text = source.text
        start = source.range(statement)[0] + len("with")
        if type(statement) is ast.AsyncWith:
            start = text.index("with", start) + len("with")
        while start < len(text) and text[start] in _BLANK:
            start += 1
        if start >= len(text) or text[start] != "(":
            return 0
        last = statement.items[-1]
        node = last.optional_vars if last.optional_vars is not None else last.context_expr
        end = source.outer(*source.range(node), start + 1)[1]
        while end < len(text) and text[end] in _BLANK:
            end += 1
        return start + 1 if end < len(text) and text[end] == ")" else 0

    def _record(
        self,
        node: ast.Call,
        callee: ast.expr,
        form: CallForm,
        targets: tuple[str, ...],
        args: list[_Arg],
        site: ast.expr | None = None,
    ) -> None:
        source = self.source
        indent = self._indent()
        # The arguments' parentheses start after the call's own.
        floor = source.after_open_paren(source.outer(*source.range(node.func))[1])
        positional: list[ArgFacts] = []
        keywords: list[tuple[str, ArgFacts]] = []
        star_args = star_kwargs = False
        for star, keyword, value in args:
            facts = ArgFacts(source.code(value, floor, indent), _is_none(value))
            if star == "*":
                star_args = True
            elif star == "**":
                star_kwargs = True
            elif keyword is not None:
                keywords.append((keyword, facts))
            else:
                positional.append(facts)
        function = next((f for f in reversed(self.frames) if f.level is ScopeLevel.FUNCTION), None)
        if function is not None and self.lambdas > function.lambdas:
            # A lambda body is its own synchronous function: nothing can be awaited there.
            function = None
        prefix = self.module_name + "."
        frame = self.frames[-1]
        scope = Scope(
            level=frame.level,
            function=function.qualname.removeprefix(prefix) if function else None,
            is_async=function.is_async if function else False,
            class_name=self.classes_open[-1].qualname.removeprefix(prefix)
            if self.classes_open
            else None,
        )
        bound_name, escape, cm_eligible, storage, awaited = self._usage(node, form)
        at = site if site is not None else node
        if callee is node.func and at is not callee:
            callee_text = source.code(callee, source.range(node)[0], indent)
        else:
            callee_text = source.code(callee, floor, indent)
        site_floor = floor if site is not None else self._floor(node)
        self.calls.append(
            CallFacts(
                span=source.span(at),
                form=form,
                callee_text=callee_text,
                targets=targets,
                positional=tuple(positional),
                keywords=tuple(keywords),
                star_args=star_args,
                star_kwargs=star_kwargs,
                scope=scope,
                function=function.function_index if function else -1,
                bound_name=bound_name,
                escape=escape,
                cm_eligible=cm_eligible,
                storage=placed_storage(frame.level, storage, frame.cached, escape),
                normalized=re.sub(r"\s+", "", source.code(at, site_floor)),
                awaited=awaited,
            )
        )

    def _indent(self) -> str:
        statement = self.statement
        if statement is None:
            return ""
        line = self.source.line(statement.lineno)  # type: ignore[attr-defined]
        return line[: len(line) - len(line.lstrip(" \t\x0c"))]

    def _usage(
        self, node: ast.Call, form: CallForm
    ) -> tuple[str | None, str | None, bool, Storage | None, bool]:
        """How the call's result is used: bound name, escape, context-manager eligibility,
        storage, awaited."""
        if form is CallForm.FACTORY_REF or form is CallForm.BASE_INIT:
            return None, None, False, None, False
        parents = self.parents
        child: ast.AST = node
        parent = parents.get(id(node))
        awaited = False
        while type(parent) is ast.Await:
            awaited = True
            child = parent
            parent = parents.get(id(parent))
        kind = type(parent)
        if kind is ast.Return:
            return None, "returned", False, None, awaited
        if kind is ast.Yield or kind is ast.YieldFrom:
            return None, "yielded", False, None, awaited
        if kind is ast.Call and child is not parent.func:  # type: ignore[union-attr]
            return None, "passed to a call", False, None, awaited
        if kind is ast.ClassDef and not any(child is d for d in parent.decorator_list):  # type: ignore[union-attr]
            return None, "passed to a call", False, None, awaited
        if kind is ast.List or kind is ast.Set:
            return None, "stored in a container", False, None, awaited
        if kind is ast.Tuple and not self._subscript_elements(parent):  # type: ignore[arg-type]
            return None, "stored in a container", False, None, awaited
        if kind is ast.Dict:
            for key, value in zip(parent.keys, parent.values, strict=True):  # type: ignore[union-attr]
                if child is key or (child is value and key is not None):
                    return None, "stored in a container", False, None, awaited
        if (kind is ast.Assign or kind is ast.AnnAssign) and parent.value is child:  # type: ignore[union-attr]
            return self._assigned(parent, awaited)  # type: ignore[arg-type]
        return None, None, False, None, awaited

    def _subscript_elements(self, node: ast.Tuple) -> bool:
        """Whether the tuple is a subscript's unparenthesized elements (`x[a, b]`)."""
        parent = self.parents.get(id(node))
        return (
            type(parent) is ast.Subscript
            and parent.slice is node
            and not self.source.parenthesized(node)
        )

    def _assigned(
        self, parent: ast.Assign | ast.AnnAssign, awaited: bool
    ) -> tuple[str | None, str | None, bool, Storage | None, bool]:
        frame = self.frames[-1]
        targets = parent.targets if type(parent) is ast.Assign else [parent.target]  # type: ignore[union-attr]
        storage: Storage | None = None
        escape: str | None = None
        for target in targets:
            kind = type(target)
            if kind is ast.Attribute:
                owner = cast(ast.Attribute, target).value
                if (
                    type(owner) is ast.Name
                    and frame.level is ScopeLevel.FUNCTION
                    and self._names_a_class(frame, owner.id)
                ):
                    storage = Storage.CLASS_ATTRIBUTE
                escape = "stored on an attribute"
            elif kind is ast.Subscript:
                escape = "stored in a container"
            elif _name(target) is not None:
                if frame.level is ScopeLevel.FUNCTION and _name(target) in frame.globals:
                    storage = Storage.GLOBAL
                    escape = "stored in a module global"
            else:
                escape = "unpacked"
        if escape is not None or len(targets) != 1 or _name(targets[0]) is None:
            return None, escape, False, storage, awaited
        name = _name(targets[0])
        assert name is not None
        if frame.level is not ScopeLevel.FUNCTION:
            return name, None, False, None, awaited
        assert frame.node is not None
        escape, cm = self._binding_flow(frame.node, parent, name)
        # `d: T = Call()` keeps its annotation only under the factory rewrite.
        cm = cm and type(parent) is ast.Assign
        return name, escape, cm and not awaited, None, awaited

    def _binding_flow(
        self, function: ast.AST, assign: ast.stmt, name: str
    ) -> tuple[str | None, bool]:
        """Escape and context-manager eligibility of `name = Call()` inside `function`."""
        block = _block_of(function, assign)
        later: Sequence[ast.stmt] = ()
        simple = False
        if block is not None:
            statements, index = block
            later = statements[index + 1 :]
            simple = self._alone_on_its_lines(statements, index)
        flow = _flow(function, name, assign, later, self.source)
        cm = (
            simple
            and flow.escape is None
            and not flow.reassigned
            and flow.uses > 0
            and flow.later_uses == flow.uses
            and self._made_values_stay(function, name, later)
        )
        return flow.escape, cm

    def _made_values_stay(self, function: ast.AST, name: str, later: Sequence[ast.stmt]) -> bool:
        """Block boundaries: every value made from the dispatcher without awaiting it (a
        coroutine, a task, a bound method) is used only in the block the `async with` can
        wrap, and is not handed out (returned, yielded, stored, captured)."""
        sync = type(function) is not ast.AsyncFunctionDef
        parts = [statement_parts(statement, sync) for statement in later]
        _, made = block_reach(name, parts)
        if hands_out(later, made, sync):
            return False
        for other in made - {name}:
            origins = [
                s for s, p in zip(later, parts, strict=True) if any(other in x.binds for x in p)
            ]
            if len(origins) != 1:
                return False
            flow = _flow(function, other, origins[0], later, self.source)
            if (
                flow.reassigned
                or flow.later_uses != flow.uses
                or flow.escape not in (None, _ESCAPES["arg"])
            ):
                return False
        return True

    def _alone_on_its_lines(self, statements: list[ast.stmt], index: int) -> bool:
        """A statement of an indented block with no other statement on its lines
        (LibCST: a one-statement `SimpleStatementLine` in an `IndentedBlock`)."""
        statement = statements[index]
        if index > 0 and statements[index - 1].end_lineno == statement.lineno:
            return False
        if index + 1 < len(statements) and statements[index + 1].lineno == statement.end_lineno:
            return False
        line = self.source.line(statement.lineno)
        prefix = line.encode("utf-8")[: statement.col_offset]
        return not prefix.strip()
