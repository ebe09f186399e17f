"""Extract `FileFacts` from one file with LibCST.

Name resolution is done here, per file, with a small scope model of our own
(module, class and function frames, Python's rule that class bodies are not
visible from methods, `global` declarations, parameters and locals shadowing
imports). LibCST's ScopeProvider would do the same at several times the cost;
only parsing and positions come from LibCST.

Only calls whose callee can match a rule are recorded: the written or resolved
last name segment must be one of `names` (the rule pack's names plus aliases
discovered in other files). Base-class `__init__` calls are always recorded,
since whether the base is a dispatcher is only known after linking.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from dataclasses import fields as fields_of

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from migrator.facts import (
    ArgFacts,
    Binding,
    CallFacts,
    CallForm,
    ClassFacts,
    FileFacts,
    FunctionFacts,
    ParamFacts,
    Storage,
)
from migrator.model import Scope, ScopeLevel, Span
from migrator.positions import Aligner
from migrator.scopes import (
    CACHE_DECORATORS,
    FACTORY_KEYWORDS,
    Bind,
    absolute_name,
    add_binding,
    lookup,
    mentions,
    placed_storage,
)

SUPPRESSION_RE = re.compile(r"#\s*migrator:\s*ignore\b(.*)$")
_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


@dataclass
class _Frame:
    level: ScopeLevel
    qualname: str
    name: str | None
    bindings: dict[str, Bind]
    is_async: bool = False
    globals: set[str] = field(default_factory=set)
    function_index: int = -1
    cached: bool = False
    class_qualname: str | None = None
    first_param: str | None = None
    is_classmethod: bool = False
    node: cst.CSTNode | None = None
    calls: list[str] = field(default_factory=list)


class ExtractionError(Exception):
    """The file could not be parsed; the message is one line for people."""


#: Python frames extraction may use, wherever it is called from. The recursion limit
#: counts from the bottom of the stack, and a worker forked inside discovery starts
#: deeper than the main process: without a budget of its own, a deeply nested file
#: could be analysed with --jobs 1 and refused with --jobs 2.
_FRAME_BUDGET = 1000


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


def extract(
    text: str, relpath: str, module: str, is_package: bool, names: frozenset[str]
) -> FileFacts:
    with frame_budget():
        return _extract(text, relpath, module, is_package, names)


def parse_for_links(text: str) -> ast.Module | None:
    """CPython's tree of `text` for `migrator.links`, or None where only LibCST can say.

    Raises ExtractionError exactly where `extract` refuses the file for nesting.
    """
    return _refuse_deep_nesting(text)


def _extract(
    text: str, relpath: str, module: str, is_package: bool, names: frozenset[str]
) -> FileFacts:
    syntax_tree = _refuse_deep_nesting(text)
    try:
        tree = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        raise ExtractionError(
            f"syntax error at line {error.raw_line}, column {error.raw_column}: "
            f"{str(error.message).splitlines()[0]}"
        ) from None
    except RecursionError:
        raise ExtractionError("too deeply nested to parse (recursion limit)") from None
    from migrator.positions import Aligner, Misaligned

    try:
        # CPython's parser already placed every node we report; LibCST's position
        # pass (code generation of the whole module) is only the fallback.
        visitor: _Extractor | None = None
        if syntax_tree is not None and Aligner.usable(text):
            aligner = Aligner(syntax_tree, text)
            try:
                visitor = _Extractor(relpath, module, is_package, names, aligner, aligner)
                visitor.walk(tree)
                visitor.finish()
                aligner.check()
            except Misaligned:
                visitor = None
        if visitor is None:
            positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
            visitor = _Extractor(relpath, module, is_package, names, positions)
            visitor.walk(tree)
            visitor.finish()
    except RecursionError:
        raise ExtractionError("too deeply nested to analyse (recursion limit)") from None
    suppressions = tuple(
        (number, match.group(0))
        for number, line in enumerate(text.splitlines(), start=1)
        if "migrator" in line and (match := SUPPRESSION_RE.search(line))
    )
    return FileFacts(
        relpath=relpath,
        module=module,
        is_package=is_package,
        bindings=tuple(visitor.module_bindings),
        classes=tuple(visitor.classes),
        functions=tuple(visitor.functions),
        calls=tuple(visitor.calls),
        suppressions=suppressions,
    )


#: CPython's tokenizer refuses more than 200 nested brackets; so do we, before LibCST.
_MAX_BRACKET_DEPTH = 200


def _refuse_deep_nesting(text: str) -> ast.Module | None:
    """Raise ExtractionError for input nested too deeply for LibCST's native parser.

    LibCST's parser overflows the C stack (a segmentation fault that kills the whole
    run) on a few thousand nested brackets or a long chain such as `a.a.a...`.
    CPython's own parser, written in C, refuses such input with an exception, so it
    goes first: where it fails for nesting or recursion, the file is refused here;
    where it fails for another syntax error, a plain bracket count stands in.
    Returns CPython's tree when it parsed, for its positions.
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (RecursionError, MemoryError):
        raise ExtractionError("too deeply nested to parse (recursion limit); skipped") from None
    except SyntaxError as error:
        message = str(error.msg or "")
        if (
            "nested" in message
            or "too complex" in message
            or _bracket_depth(text) > _MAX_BRACKET_DEPTH
        ):
            raise ExtractionError(
                f"too deeply nested to parse ({message or 'recursion limit'}); skipped"
            ) from None
        # CPython's verdict and place (1-based line and column, as its traceback
        # shows them): that is the parser the code will run under.
        raise ExtractionError(
            f"syntax error at line {error.lineno}, column {error.offset}: {message}"
        ) from None
    except ValueError:
        pass  # null bytes and the like: LibCST reports them
    return None


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in ")]}":
            depth -= 1
    return deepest


def dotted_text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = dotted_text(node.value)
        return f"{inner}.{node.attr.value}" if inner is not None else None
    return None


_EMPTY_MODULE = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node)


def _normalize(node: cst.CSTNode) -> str:
    return re.sub(r"\s+", "", code_of(node))


_HOOKS: dict[tuple[type, str, type], object] = {}


class _FastVisitor(cst.CSTVisitor):
    """A read-only CSTVisitor with cheaper traversal; same visits, same order.

    LibCST's `node.visit(visitor)` rebuilds (and re-validates) every node it passes
    through, since the same machinery serves transformers, looks up
    `visit_<Node>` with a formatted `getattr` on every node, and calls
    `visit_<Node>_<field>` hooks on every field. `walk` only reads: it visits the
    children of each node in the order LibCST would (see `_child_fields`), looks
    the per-type hooks up once per (visitor class, node type), and has no field
    hooks (none of our visitors uses them). Profiling a cold audit showed the
    rebuilding and dispatch to be about two thirds of extraction.
    `tests/test_extract_walk.py` checks that `walk` and LibCST's own traversal see
    the same nodes in the same order.
    """

    def walk(self, node: cst.CSTNode) -> None:
        if self.on_visit(node):
            kind = type(node)
            fields = _FIELDS.get(kind)
            if fields is None or (kind in _UNSEEN and _unseen_children(node)):
                fields = _child_fields(node)
            for name in fields:
                value = getattr(node, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        kind = type(child)
                        if _ENTER.get(kind) or (kind not in _ENTER and _enter(kind)):
                            self.walk(child)
                elif _ENTER.get(kind) or (kind not in _ENTER and _enter(kind)):
                    self.walk(value)
        self.on_leave(node)

    def _hook(self, prefix: str, node: cst.CSTNode) -> object:
        key = (type(self), prefix, type(node))
        try:
            return _HOOKS[key]
        except KeyError:
            hook = getattr(type(self), f"{prefix}{type(node).__name__}", None)
            _HOOKS[key] = hook
            return hook

    def on_visit(self, node: cst.CSTNode) -> bool:
        hook = self._hook("visit_", node)
        if hook is None:
            return True
        return hook(self, node) is not False  # type: ignore[operator]

    def on_leave(self, original_node: cst.CSTNode) -> None:
        hook = self._hook("leave_", original_node)
        if hook is not None:
            hook(self, original_node)  # type: ignore[operator]

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


#: Per node type, the fields that hold child nodes, in the order LibCST visits them.
_FIELDS: dict[type, tuple[str, ...]] = {}
#: Node types with fields LibCST skipped on the instance the order was learnt from
#: (it visits some only when set, e.g. an f-string's `format_spec`).
_UNSEEN: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool, bytes)


class _FieldRecorder(cst.CSTVisitor):
    """Records the fields LibCST's traversal enters, without descending into them."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _child_fields(node: cst.CSTNode) -> tuple[str, ...]:
    """Learn, from LibCST itself, the order in which it visits the fields of `node`'s type.

    One `_visit_and_replace_children` call with a recorder that never descends:
    exact for the installed LibCST, whatever its version, at one node rebuild per
    type. An order learnt from an instance that lacked an optional field is
    merged with the one learnt when the field shows up (`_unseen_children`).
    """
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    seen = list(dict.fromkeys(recorder.fields))
    kind = type(node)
    for name in _FIELDS.get(kind, ()):
        if name not in seen:
            # Keep an earlier field after the one it followed before.
            earlier = _FIELDS[kind]
            index = earlier.index(name)
            after = next((f for f in reversed(earlier[:index]) if f in seen), None)
            seen.insert(seen.index(after) + 1 if after is not None else 0, name)
    order = tuple(seen)
    _FIELDS[kind] = order
    unseen = tuple(
        f.name
        for f in fields_of(kind)
        if f.name not in order and not isinstance(getattr(node, f.name), _SCALARS)
    )
    if unseen:
        _UNSEEN[kind] = unseen
    else:
        _UNSEEN.pop(kind, None)
    return order


#: Nodes that hold only layout (whitespace, comments, brackets, punctuation,
#: operators): no visitor of ours reacts to them or to anything inside them.
_LAYOUT: tuple[type[cst.CSTNode], ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.Comment,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
)
#: Per type of a field's value: does `walk` enter it (a node, not layout)? A dict
#: lookup: `isinstance` against LibCST's abstract base classes is slow.
_ENTER: dict[type, bool] = {}


def _enter(kind: type) -> bool:
    _ENTER[kind] = answer = issubclass(kind, cst.CSTNode) and not issubclass(kind, _LAYOUT)
    return answer


def _unseen_children(node: cst.CSTNode) -> bool:
    """Whether `node` has children in a field its type's learnt order lacks."""
    for name in _UNSEEN[type(node)]:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode) or (isinstance(value, (tuple, list)) and value):
            return True
    return False


class _BindingCollector(_FastVisitor):
    """Names bound directly in one scope (not inside nested functions or classes)."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.found: dict[str, Bind] = {}
        self.globals: set[str] = set()
        self.imports: list[tuple[str, str, int | None, str]] = []
        self.star_imports: list[cst.ImportFrom] = []

    def _add(self, name: str, bind: Bind) -> None:
        add_binding(self.found, name, bind)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node is self.root:
            return True
        self._add(node.name.value, Bind("def"))
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if node is self.root:
            return True
        self._add(node.name.value, Bind("def"))
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return False

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return False

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return False

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        self.globals.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.globals.update(item.name.value for item in node.names)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = dotted_text(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._add(alias.asname.name.value, Bind("import", (dotted,)))
                self.imports.append((alias.asname.name.value, dotted, None, "import-as"))
            else:
                top = dotted.split(".")[0]
                self._add(top, Bind("import", (top,)))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(node)
            return
        base = dotted_text(node.module) if node.module is not None else ""
        level = len(node.relative)
        for alias in node.names:
            name = dotted_text(alias.name) or ""
            local = name
            how = "import"
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
                how = "import-as"
            # Relative imports are resolved by the extractor, which knows the module.
            self.imports.append((local, f"{base}.{name}" if base else name, level, how))
            self._add(local, Bind("import", (f"\0{level}\0{base}\0{name}",)))

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            if value is not None and isinstance(value, (cst.Name, cst.Attribute)):
                self._add(target.value, Bind("alias", node=value))
            elif value is not None and isinstance(value, cst.IfExp):
                self._add(target.value, Bind("choice", node=value))
            else:
                self._add(target.value, Bind("local"))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, node.value if len(node.targets) == 1 else None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target, None)

    def visit_AsyncFor(self, node: cst.For) -> None:
        self._target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name, None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._add(node.name.name.value, Bind("local"))

    def visit_Param(self, node: cst.Param) -> None:
        self._add(node.name.value, Bind("local"))


class _Extractor(_FastVisitor):
    def __init__(
        self,
        relpath: str,
        module: str,
        is_package: bool,
        names: frozenset[str],
        positions: object,
        aligner: Aligner | None = None,
    ) -> None:
        self.relpath = relpath
        self.module = module
        self.is_package = is_package
        self.names = names
        self.positions = positions
        self.aligner = aligner
        #: Calls whose span is filled in by `finish`: a `default_factory=` value is
        #: recorded before the visitor reaches it, so its position is not known yet.
        self._pending_spans: list[tuple[int, cst.CSTNode]] = []
        self.frames: list[_Frame] = []
        self.ancestors: list[cst.CSTNode] = []
        self.module_bindings: list[Binding] = []
        self.classes: list[ClassFacts] = []
        self.functions: list[FunctionFacts] = []
        self.calls: list[CallFacts] = []
        self.star_modules: list[str] = []
        self._class_stack: list[dict[str, object]] = []
        self._alias_lines: dict[str, int] = {}

    # ------------------------------------------------------------ traversal plumbing

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.aligner is not None:
            self.aligner.note(node)
        # Pushed before the visit_* hook runs, so hooks see the node itself at [-1].
        self.ancestors.append(node)
        if not super().on_visit(node):
            self.ancestors.pop()
            return False
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        self.ancestors.pop()

    def finish(self) -> None:
        """Fill in the spans of the recorded calls (every node has been visited now)."""
        for index, node in self._pending_spans:
            self.calls[index] = replace(self.calls[index], span=self.span(node))
        self._pending_spans.clear()

    def span(self, node: cst.CSTNode) -> Span:
        code_range: CodeRange = self.positions[node]  # type: ignore[index]
        return Span(
            code_range.start.line,
            code_range.start.column,
            code_range.end.line,
            code_range.end.column,
        )

    # ------------------------------------------------------------ import resolution

    def absolute(self, level: int, base: str, name: str) -> str:
        return absolute_name(self.module, self.is_package, level, base, name)

    def _collect(self, node: cst.CSTNode) -> _BindingCollector:
        collector = _BindingCollector(node)
        collector.walk(node)
        for bind in collector.found.values():
            if bind.kind == "import" and bind.targets and bind.targets[0].startswith("\0"):
                _, level, base, name = bind.targets[0].split("\0")
                bind.targets = (self.absolute(int(level), base, name),)
        return collector

    # ------------------------------------------------------------ name resolution

    def resolve_name(
        self, expr: cst.BaseExpression, frames: Sequence[_Frame] | None = None
    ) -> tuple[str, ...]:
        """Qualified names `expr` may denote, or () when it is not a module-level name."""
        frames = self.frames if frames is None else frames
        if isinstance(expr, cst.Name):
            return self._lookup(expr.value, frames)
        if isinstance(expr, cst.Attribute):
            return tuple(f"{q}.{expr.attr.value}" for q in self.resolve_name(expr.value, frames))
        if isinstance(expr, cst.IfExp):
            return self.resolve_name(expr.body, frames) + self.resolve_name(expr.orelse, frames)
        return ()

    def _lookup(self, name: str, frames: Sequence[_Frame]) -> tuple[str, ...]:
        return lookup(name, frames, self.module, self.star_modules, self.resolve_name)

    def is_choice(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.IfExp):
            return True
        if isinstance(expr, cst.Name):
            for frame in reversed(self.frames):
                bind = frame.bindings.get(expr.value)
                if bind is not None:
                    return bind.kind == "choice" and frame.level is ScopeLevel.FUNCTION
        return False

    def interesting(self, written: str | None, targets: Sequence[str]) -> bool:
        return mentions(self.names, written, targets)

    def annotation_names(self, annotation: cst.Annotation | None) -> tuple[str, ...]:
        if annotation is None:
            return ()
        found: list[str] = []
        self._annotation(annotation.annotation, found, depth=0)
        return tuple(dict.fromkeys(found))

    def _annotation(self, expr: cst.BaseExpression, found: list[str], depth: int) -> None:
        if depth > 8:
            return
        if isinstance(expr, (cst.Name, cst.Attribute)):
            found.extend(self.resolve_name(expr, self.frames[:1] if self.frames else None))
        elif isinstance(expr, cst.Subscript):
            for element in expr.slice:
                if isinstance(element.slice, cst.Index):
                    self._annotation(element.slice.value, found, depth + 1)
        elif isinstance(expr, cst.BinaryOperation):
            self._annotation(expr.left, found, depth + 1)
            self._annotation(expr.right, found, depth + 1)
        elif isinstance(expr, cst.SimpleString):
            try:
                inner = cst.parse_expression(str(expr.evaluated_value))
            except (cst.ParserSyntaxError, ValueError, TypeError):
                return
            self._annotation(inner, found, depth + 1)

    # ------------------------------------------------------------ scopes

    def visit_Module(self, node: cst.Module) -> None:
        collector = self._collect(node)
        frame = _Frame(ScopeLevel.MODULE, self.module, None, collector.found, node=node)
        self.frames.append(frame)
        for star in collector.star_imports:
            base = dotted_text(star.module) if star.module is not None else ""
            self.star_modules.append(self.absolute(len(star.relative), base or "", "").rstrip("."))
        for local, _target, _level, how in collector.imports:
            bind = collector.found.get(local)
            if bind is not None and bind.kind == "import":
                line = 0
                self.module_bindings.append(
                    Binding(f"{self.module}.{local}", bind.targets[0], line, how)
                )
        # Import lines: found with a cheap second pass over top-level statements.

    def _import_lines(self, node: cst.Module) -> None:
        lines: dict[str, int] = {}
        for statement in node.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                        getattr(small, "names", None), cst.ImportStar
                    ):
                        for alias in small.names:  # type: ignore[union-attr]
                            local = (
                                alias.asname.name.value  # type: ignore[union-attr]
                                if alias.asname is not None
                                else (dotted_text(alias.name) or "").split(".")[0]
                            )
                            lines.setdefault(f"{self.module}.{local}", self.span(small).line)
        self.module_bindings = [
            Binding(b.name, b.target, lines.get(b.name, b.line), b.how)
            for b in self.module_bindings
        ]

    def leave_Module(self, original_node: cst.Module) -> None:
        # After the visit: with CPython's positions, an import is placed once visited.
        self._import_lines(original_node)
        module_frame = self.frames[0]
        for name, bind in module_frame.bindings.items():
            if bind.kind == "alias" and bind.count == 1 and bind.node is not None:
                targets = self.resolve_name(bind.node, [module_frame])
                if targets:
                    self.module_bindings.append(
                        Binding(
                            f"{self.module}.{name}",
                            targets[0],
                            self._alias_lines.get(name, 0),
                            "assign",
                        )
                    )
        self.frames.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(self.frames) == 1 and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Name):
                self._alias_lines.setdefault(target.value, self.span(node).line)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name.value}"
        bases = tuple(
            target
            for arg in node.bases
            if arg.keyword is None
            for target in self.resolve_name(arg.value)
        )
        collector = self._collect(node)
        self.frames.append(
            _Frame(ScopeLevel.CLASS, qualname, node.name.value, collector.found, node=node)
        )
        self._class_stack.append(
            {
                "node": node,
                "qualname": qualname,
                "bases": bases,
                "init": None,
                "kw": False,
                "attrs": set(),
            }
        )

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        info = self._class_stack.pop()
        self.frames.pop()
        self.classes.append(
            ClassFacts(
                name=original_node.name.value,
                qualname=str(info["qualname"]),
                line=self.span(original_node).line,
                bases=info["bases"],  # type: ignore[arg-type]
                init_params=info["init"],  # type: ignore[arg-type]
                init_star_kwargs=bool(info["kw"]),
                self_attributes=tuple(sorted(info["attrs"])),  # type: ignore[call-overload]
            )
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name.value}"
        collector = self._collect(node)
        class_qualname = outer.qualname if outer.level is ScopeLevel.CLASS else None
        decorators = [self._decorator_name(d.decorator) for d in node.decorators]
        params = [*node.params.posonly_params, *node.params.params]
        first_param = params[0].name.value if params else None
        frame = _Frame(
            ScopeLevel.FUNCTION,
            qualname,
            node.name.value,
            collector.found,
            is_async=node.asynchronous is not None,
            globals=collector.globals,
            function_index=len(self.functions),
            cached=any(d in CACHE_DECORATORS for d in decorators),
            class_qualname=class_qualname,
            first_param=first_param if class_qualname else None,
            is_classmethod="classmethod" in decorators,
            node=node,
        )
        all_params = [
            *node.params.posonly_params,
            *node.params.params,
            *node.params.kwonly_params,
        ]
        param_facts = tuple(
            ParamFacts(p.name.value, self.annotation_names(p.annotation), p.annotation is not None)
            for p in all_params
        )
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=node.name.value,
                is_async=frame.is_async,
                line=self.span(node).line,
                params=param_facts,
                annotated_locals=(),
                class_qualname=class_qualname,
                calls=(),
            )
        )
        self.frames.append(frame)
        if class_qualname and node.name.value == "__init__" and self._class_stack:
            info = self._class_stack[-1]
            positional = [p.name.value for p in params[1:]]
            info["init"] = tuple(positional)
            info["kw"] = isinstance(node.params.star_kwarg, cst.Param)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        facts = self.functions[frame.function_index]
        locals_ = tuple(
            ParamFacts(name, names, True) for name, names in getattr(frame, "annotated", {}).items()
        )
        self.functions[frame.function_index] = FunctionFacts(
            qualname=facts.qualname,
            name=facts.name,
            is_async=facts.is_async,
            line=facts.line,
            params=facts.params,
            annotated_locals=locals_,
            class_qualname=facts.class_qualname,
            calls=tuple(dict.fromkeys(frame.calls)),
        )

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        frame = self.frames[-1]
        if frame.level is ScopeLevel.FUNCTION and isinstance(node.target, cst.Name):
            annotated: dict[str, tuple[str, ...]] = frame.__dict__.setdefault("annotated", {})
            annotated[node.target.value] = self.annotation_names(node.annotation)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `self.user_context = ...` in a method: the class has a context attribute.
        frame = self.frames[-1] if self.frames else None
        if (
            frame is not None
            and frame.first_param
            and self._class_stack
            and isinstance(node.value, cst.Name)
            and node.value.value == frame.first_param
            and len(self.ancestors) >= 2
        ):
            parent = self.ancestors[-2]
            if isinstance(parent, cst.AssignTarget) or (
                isinstance(parent, cst.AnnAssign) and parent.target is node
            ):
                attrs = self._class_stack[-1]["attrs"]
                attrs.add(node.attr.value)  # type: ignore[attr-defined]

    def _decorator_name(self, expr: cst.BaseExpression) -> str:
        if isinstance(expr, cst.Call):
            expr = expr.func
        resolved = self.resolve_name(expr, self.frames[:1])
        if resolved:
            return resolved[0]
        return dotted_text(expr) or ""

    # ------------------------------------------------------------ calls

    def visit_Call(self, node: cst.Call) -> None:
        frame = self.frames[-1]
        func = node.func
        targets = self.resolve_name(func)
        if frame.level is ScopeLevel.FUNCTION and targets:
            frame.calls.append(targets[0])
        elif frame.level is ScopeLevel.FUNCTION:
            text = dotted_text(func)
            if (
                text
                and frame.first_param
                and text.startswith(frame.first_param + ".")
                and frame.class_qualname
            ):
                frame.calls.append(f"{frame.class_qualname}.{text.split('.', 1)[1]}")

        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in FACTORY_KEYWORDS:
                ref_targets = self.resolve_name(arg.value)
                if ref_targets and self.interesting(dotted_text(arg.value), ref_targets):
                    self._record(
                        node, arg.value, CallForm.FACTORY_REF, ref_targets, (), at=arg.value
                    )

        base_init = self._base_init(node)
        if base_init is not None:
            bases, args = base_init
            self._record(node, func, CallForm.BASE_INIT, bases, args)
            return
        if (
            targets
            and "functools.partial" in targets
            and node.args
            and node.args[0].keyword is None
        ):
            inner = node.args[0].value
            inner_targets = self.resolve_name(inner)
            if inner_targets and self.interesting(dotted_text(inner), inner_targets):
                self._record(node, inner, CallForm.PARTIAL, inner_targets, node.args[1:])
            return
        written = dotted_text(func)
        if self.is_choice(func):
            if targets and self.interesting(None, targets):
                self._record(node, func, CallForm.RUNTIME_CHOICE, targets, node.args)
            return
        if targets and self.interesting(written, targets):
            self._record(node, func, CallForm.CALL, targets, node.args)

    def _base_init(self, node: cst.Call) -> tuple[tuple[str, ...], Sequence[cst.Arg]] | None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "__init__"):
            return None
        frame = self.frames[-1]
        if (
            frame.level is not ScopeLevel.FUNCTION
            or frame.name != "__init__"
            or not self._class_stack
        ):
            return None
        value = func.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value == "super"
        ):
            return self._class_stack[-1]["bases"], node.args  # type: ignore[return-value]
        if isinstance(value, (cst.Name, cst.Attribute)):
            resolved = self.resolve_name(value)
            if resolved and node.args and node.args[0].keyword is None:
                return resolved, node.args[1:]
        return None

    def _record(
        self,
        node: cst.Call,
        callee: cst.BaseExpression,
        form: CallForm,
        targets: tuple[str, ...],
        args: Sequence[cst.Arg],
        at: cst.CSTNode | None = None,
    ) -> None:
        positional: list[ArgFacts] = []
        keywords: list[tuple[str, ArgFacts]] = []
        star_args = star_kwargs = False
        for arg in args:
            facts = ArgFacts(code_of(arg.value), _is_none(arg.value))
            if arg.star == "*":
                star_args = True
            elif arg.star == "**":
                star_kwargs = True
            elif arg.keyword is not None:
                keywords.append((arg.keyword.value, facts))
            else:
                positional.append(facts)
        frame = self.frames[-1]
        function_frame = next(
            (f for f in reversed(self.frames) if f.level is ScopeLevel.FUNCTION), None
        )
        if function_frame is not None and self._inside_lambda(function_frame):
            # A lambda body is its own synchronous function: nothing can be awaited there.
            function_frame = None
        scope = Scope(
            level=frame.level,
            function=function_frame.qualname.removeprefix(self.module + ".")
            if function_frame
            else None,
            is_async=function_frame.is_async if function_frame else False,
            class_name=str(self._class_stack[-1]["qualname"]).removeprefix(self.module + ".")
            if self._class_stack
            else None,
        )
        bound_name, escape, cm_eligible, storage, awaited = self._usage(node, form)
        storage = placed_storage(frame.level, storage, frame.cached)
        site = at if at is not None else node
        self._pending_spans.append((len(self.calls), site))
        self.calls.append(
            CallFacts(
                span=Span(0, 0, 0, 0),
                form=form,
                callee_text=code_of(callee),
                targets=targets,
                positional=tuple(positional),
                keywords=tuple(keywords),
                star_args=star_args,
                star_kwargs=star_kwargs,
                scope=scope,
                function=function_frame.function_index if function_frame else -1,
                bound_name=bound_name,
                escape=escape,
                cm_eligible=cm_eligible,
                storage=storage,
                normalized=_normalize(site),
                awaited=awaited,
            )
        )

    def _inside_lambda(self, frame: _Frame) -> bool:
        for ancestor in reversed(self.ancestors):
            if ancestor is frame.node:
                return False
            if isinstance(ancestor, cst.Lambda):
                return True
        return False

    def _usage(
        self, node: cst.Call, form: CallForm
    ) -> tuple[str | None, str | None, bool, Storage | None, bool]:
        """How the call's result is used: bound name, escape, context-manager eligibility, storage."""
        if form in {CallForm.FACTORY_REF, CallForm.BASE_INIT}:
            return None, None, False, None, False
        # ancestors[-1] is the call itself.
        index = len(self.ancestors) - 2
        child: cst.CSTNode = node
        awaited = False
        while index >= 0 and isinstance(
            self.ancestors[index], (cst.Await, cst.ParenthesizedWhitespace)
        ):
            awaited = awaited or isinstance(self.ancestors[index], cst.Await)
            child = self.ancestors[index]
            index -= 1
        parent = self.ancestors[index] if index >= 0 else None
        frame = self.frames[-1]
        if isinstance(parent, cst.Return):
            return None, "returned", False, None, awaited
        if isinstance(parent, (cst.Yield, cst.From)):
            return None, "yielded", False, None, awaited
        if isinstance(parent, cst.Arg):
            return None, "passed to a call", False, None, awaited
        if isinstance(parent, (cst.Element, cst.DictElement)):
            return None, "stored in a container", False, None, awaited
        if (
            isinstance(parent, (cst.Assign, cst.AnnAssign))
            and getattr(parent, "value", None) is child
        ):
            targets = (
                [t.target for t in parent.targets]
                if isinstance(parent, cst.Assign)
                else [parent.target]
            )
            storage: Storage | None = None
            escape: str | None = None
            for target in targets:
                if isinstance(target, cst.Attribute):
                    owner = target.value
                    if (
                        isinstance(owner, cst.Name)
                        and frame.level is ScopeLevel.FUNCTION
                        and self._names_a_class(frame, owner.value)
                    ):
                        storage = Storage.CLASS_ATTRIBUTE
                    escape = "stored on an attribute"
                elif isinstance(target, cst.Subscript):
                    escape = "stored in a container"
                elif isinstance(target, cst.Name):
                    if frame.level is ScopeLevel.FUNCTION and target.value in frame.globals:
                        storage = Storage.GLOBAL
                        escape = "stored in a module global"
                else:
                    escape = "unpacked"
            if escape is not None or len(targets) != 1 or not isinstance(targets[0], cst.Name):
                return None, escape, False, storage, awaited
            name = targets[0].value
            if frame.level is not ScopeLevel.FUNCTION:
                return name, None, False, None, awaited
            escape, cm = self._binding_flow(frame, parent, name)
            # `d: T = Call()` keeps its annotation only under the factory rewrite.
            cm = cm and isinstance(parent, cst.Assign)
            return name, escape, cm and not awaited, None, awaited
        return None, None, False, None, awaited

    def _names_a_class(self, frame: _Frame, name: str) -> bool:
        """`name.attr = ...` stores on a class: `cls` in a classmethod, or a class by name."""
        if frame.is_classmethod and name == frame.first_param:
            return True
        enclosing = any(
            isinstance(c["node"], cst.ClassDef) and c["node"].name.value == name
            for c in self._class_stack
        )
        return enclosing or self._is_module_class(name)

    def _is_module_class(self, name: str) -> bool:
        bind = self.frames[0].bindings.get(name)
        return bind is not None and bind.kind == "def" and name[:1].isupper()

    def _binding_flow(
        self, frame: _Frame, assign: cst.CSTNode, name: str
    ) -> tuple[str | None, bool]:
        """Escape and context-manager eligibility of `name = Call()` inside `frame`'s function."""
        statement_index = len(self.ancestors) - 1
        while statement_index >= 0 and self.ancestors[statement_index] is not assign:
            statement_index -= 1
        line = self.ancestors[statement_index - 1] if statement_index >= 1 else None
        block = self.ancestors[statement_index - 2] if statement_index >= 2 else None
        simple = (
            isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and isinstance(block, cst.IndentedBlock)
        )
        assert frame.node is not None
        flow = _FlowVisitor(name, assign)
        flow.walk(frame.node)
        escape = flow.escape
        cm = simple and escape is None and not flow.reassigned and flow.uses > 0
        if cm and isinstance(block, cst.IndentedBlock) and line is not None:
            position = next(i for i, s in enumerate(block.body) if s is line)
            later = block.body[position + 1 :]
            counter = _UseCounter(name)
            for statement in later:
                counter.walk(statement)
            cm = counter.count == flow.uses
        return escape, cm


class _FlowVisitor(_FastVisitor):
    """Uses of a bound name in a function: escapes, reassignments and the count of uses."""

    def __init__(self, name: str, origin: cst.CSTNode) -> None:
        self.name = name
        self.origin = origin
        self.stack: list[cst.CSTNode] = []
        self.escape: str | None = None
        self.reassigned = False
        self.uses = 0
        self.depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack and isinstance(node, _NESTED_SCOPES):
            self.depth += 1
        self.stack.append(node)
        if isinstance(node, cst.Name) and node.value == self.name:
            self._name(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
        if self.stack and isinstance(original_node, _NESTED_SCOPES):
            self.depth -= 1

    def _note(self, reason: str) -> None:
        if self.escape is None:
            self.escape = reason

    def _name(self, node: cst.Name) -> None:
        parent = self.stack[-2] if len(self.stack) >= 2 else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # `x.name`: another object's attribute
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef)):
            return
        if isinstance(parent, cst.AssignTarget) or (
            isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node
        ):
            if not any(n is self.origin for n in self.stack):
                self.reassigned = True
            return
        if isinstance(parent, (cst.For, cst.AsName, cst.NamedExpr)):
            self.reassigned = True
            return
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return
        self.uses += 1
        if self.depth > 0:
            self._note("captured by a closure")
        elif isinstance(parent, cst.Return):
            self._note("returned")
        elif isinstance(parent, (cst.Yield, cst.From)):
            self._note("yielded")
        elif isinstance(parent, cst.Arg):
            self._note("passed to a call")
        elif isinstance(parent, (cst.Element, cst.DictElement, cst.StarredElement)):
            self._note("stored in a container")
        elif (
            isinstance(parent, (cst.Assign, cst.AnnAssign))
            and getattr(parent, "value", None) is node
        ):
            self._note("stored or aliased")
        elif isinstance(parent, (cst.Global, cst.Nonlocal, cst.NameItem)):
            self._note("declared global")


class _UseCounter(_FastVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        if isinstance(node, cst.Name) and node.value == self.name:
            parent = self.stack[-2] if len(self.stack) >= 2 else None
            if (
                not (isinstance(parent, cst.Attribute) and parent.attr is node)
                and not isinstance(
                    parent, (cst.Param, cst.FunctionDef, cst.ClassDef, cst.AssignTarget)
                )
                and not (isinstance(parent, cst.Arg) and parent.keyword is node)
            ):
                self.count += 1
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"
