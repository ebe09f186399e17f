"""Link facts of one file, from CPython's `ast`: what the other files need of it.

What: `extract_links` returns the part of a file's `FileFacts` that linking and
the search for callers read when the file's own findings are not reported: its
module-level bindings (imports, renamed imports, alias assignments), its classes
(bases, `__init__` parameters), its functions (async or not, what they call), its
base-class `__init__` calls, and each site's callee, form, scope and storage (a
shared instance, or not), but not the rest of how its result is used, which only
the site's own finding needs.

Why: `--shard I/N` and `--changed-since` report on some files, but the aliases,
subclasses and callers that decide those files' findings are found in all the
others. LibCST extraction of every such file made each shard of a CI matrix do
the work of the whole run. CPython's parser is written in C and about ten times
cheaper; with it, each shard extracts its own files with LibCST and only links
the rest. Caller files, which only ever needed their call graph, use it too.

Exactness: for any file both parsers accept and any names, `extract_links(...)`
equals `project(extract(...))`, LibCST's facts without the fields only a file's
own findings use (spans, code text, parameters, how a result is used except
where it is stored, suppressions). `tests/test_links.py` checks it on generated
programs, the fixtures and real packages. The rules that do not depend on node
types (binding kinds and counts, import resolution, lookup, storage by place)
are `migrator.scopes`, shared with `migrator.extract`; what is left here is the
walk: the same visiting order (source order, which is LibCST's) and the same
quirks (a lambda's parameters and a comprehension's targets bind nothing;
`except*` names bind nothing; `None`, `True` and `False` are names).

Limits: when `ast` cannot parse the file (newer syntax, null bytes), or it nests
deeper than `MAX_DEPTH`, the caller extracts with LibCST instead. A file that
CPython parses and LibCST refuses (`class C(metaclass=M, *bases)` is one) is linked
here, where a full run reports it as an error and links nothing of it: a shard can
then resolve a name through it that a full run cannot.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from migrator.facts import (
    ArgFacts,
    Binding,
    CallFacts,
    CallForm,
    ClassFacts,
    FileFacts,
    FunctionFacts,
    Storage,
)
from migrator.model import Scope, ScopeLevel, Span
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

__all__ = ["MAX_DEPTH", "extract_links", "project", "too_deep"]

_NO_SPAN = Span(0, 0, 0, 0)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: Statements and expressions whose target is bound without an alias value.
_TARGET_ONLY = (ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor)
#: `except*` (Python 3.11+); None before, which no node's type is.
_TRY_STAR = getattr(ast, "TryStar", None)


def project(facts: FileFacts) -> FileFacts:
    """The link facts within LibCST's full facts: what `extract_links` computes."""
    return replace(
        facts,
        functions=tuple(
            replace(function, params=(), annotated_locals=()) for function in facts.functions
        ),
        calls=tuple(
            replace(
                call,
                span=_NO_SPAN,
                callee_text="",
                positional=tuple(ArgFacts("", arg.is_none) for arg in call.positional),
                keywords=tuple((name, ArgFacts("", arg.is_none)) for name, arg in call.keywords),
                bound_name=None,
                escape=None,
                cm_eligible=False,
                normalized="",
                awaited=False,
            )
            for call in facts.calls
        ),
        suppressions=(),
    )


#: Deeper than this many `ast` levels, LibCST extracts the file: its traversal takes up
#: to three frames per level and gives up at `extract._FRAME_BUDGET`, refusing the file
#: as too deeply nested, and a shard must refuse what a full run refuses.
MAX_DEPTH = 250


def too_deep(tree: ast.AST, limit: int = MAX_DEPTH) -> bool:
    """Whether `tree` nests deeper than `limit` levels."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def extract_links(
    tree: ast.Module, relpath: str, module: str, is_package: bool, names: frozenset[str]
) -> FileFacts:
    """Link facts of a file parsed by `ast` (no deeper than `MAX_DEPTH`); `names` are
    the words it mentions."""
    walker = _Walker(module, is_package, names)
    walker.module(tree)
    return FileFacts(
        relpath=relpath,
        module=module,
        is_package=is_package,
        bindings=tuple(walker.bindings),
        classes=tuple(walker.classes),
        functions=tuple(walker.functions),
        calls=tuple(walker.calls),
        suppressions=(),
    )


# ---------------------------------------------------------------- names as LibCST sees them

#: LibCST parses these constants as names: `X = None` is an alias assignment there.
_CONSTANT_NAMES = {None: "None", True: "True", False: "False"}


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
    if type(node) is ast.Attribute:
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return _name(node)


def _is_none(node: ast.AST) -> bool:
    return type(node) is ast.Constant and node.value is None


def _start(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


#: A call's arguments as LibCST lists them: (star, keyword, value) in source order.
_Arg = tuple[str, "str | None", ast.expr]


def _call_args(node: ast.Call) -> list[_Arg]:
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


# ---------------------------------------------------------------- bindings of one scope


class _Collector:
    """Names bound directly in one scope: `extract._BindingCollector`, on `ast`."""

    def __init__(self, walker: _Walker, root: ast.AST) -> None:
        self.walker = walker
        self.found: dict[str, Bind] = {}
        self.globals: set[str] = set()
        #: (local name, how) of each `import ... as` and `from ... import`, in order.
        self.imports: list[tuple[str, str]] = []
        self.star_imports: list[ast.ImportFrom] = []
        if isinstance(root, _FUNCTIONS):
            for decorator in root.decorator_list:
                self.visit(decorator)
            arguments = root.args
            for arg in (*arguments.posonlyargs, *arguments.args):
                self._add(arg.arg, Bind("local"))
            for default in (*arguments.defaults, *arguments.kw_defaults):
                if default is not None:
                    self.visit(default)
            if arguments.vararg is not None:
                self._add(arguments.vararg.arg, Bind("local"))
            for arg in arguments.kwonlyargs:
                self._add(arg.arg, Bind("local"))
            if arguments.kwarg is not None:
                self._add(arguments.kwarg.arg, Bind("local"))
            for parameter in (
                *arguments.posonlyargs,
                *arguments.args,
                arguments.vararg,
                *arguments.kwonlyargs,
                arguments.kwarg,
            ):
                if parameter is not None and parameter.annotation is not None:
                    self.visit(parameter.annotation)
            if root.returns is not None:
                self.visit(root.returns)
            for statement in root.body:
                self.visit(statement)
        elif isinstance(root, ast.ClassDef):
            for child in (*root.decorator_list, *root.bases, *root.keywords, *root.body):
                self.visit(child)
        else:
            for child in ast.iter_child_nodes(root):
                self.visit(child)

    def _add(self, name: str, bind: Bind) -> None:
        add_binding(self.found, name, bind)

    def _target(self, target: ast.AST, value: ast.expr | None) -> None:
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
            for element in target.elts:  # type: ignore[attr-defined]
                self._target(element, None)
        elif kind is ast.Starred:
            self._target(target.value, None)  # type: ignore[attr-defined]

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            self._add(node.name, Bind("def"))  # type: ignore[attr-defined]
            return
        if kind is ast.Lambda or kind in _COMPREHENSIONS:
            return
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname is not None:
                    self._add(alias.asname, Bind("import", (alias.name,)))
                    self.imports.append((alias.asname, "import-as"))
                else:
                    top = alias.name.split(".")[0]
                    self._add(top, Bind("import", (top,)))
            return
        if kind is ast.ImportFrom:
            assert isinstance(node, ast.ImportFrom)
            if node.names[0].name == "*":
                self.star_imports.append(node)
                return
            base = node.module or ""
            for alias in node.names:
                local, how = (alias.asname, "import-as") if alias.asname else (alias.name, "import")
                self.imports.append((local, how))
                qualified = self.walker.absolute(node.level, base, alias.name)
                self._add(local, Bind("import", (qualified,)))
            return
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
            for statement in node.body:  # type: ignore[attr-defined]
                self.visit(statement)
            for handler in node.handlers:  # type: ignore[attr-defined]
                for child in ast.iter_child_nodes(handler):
                    self.visit(child)
            for statement in (*node.orelse, *node.finalbody):  # type: ignore[attr-defined]
                self.visit(statement)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)


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
    #: How many lambdas were open when the frame began (see `_inside_lambda`).
    lambdas: int = 0
    cached: bool = False
    is_classmethod: bool = False
    calls: list[str] = field(default_factory=list)


@dataclass
class _ClassInfo:
    name: str
    qualname: str
    bases: tuple[str, ...]
    init: tuple[str, ...] | None = None
    star_kwargs: bool = False
    #: `self.<name> = ...` in its methods.
    attributes: set[str] = field(default_factory=set)


class _Walker:
    """`extract._Extractor`'s frames and name resolution, over `ast` in source order."""

    def __init__(self, module: str, is_package: bool, names: frozenset[str]) -> None:
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
        #: Calls that are the value of an assignment (under `await`s): its targets.
        self.assigned: dict[int, list[ast.expr]] = {}

    def absolute(self, level: int, base: str, name: str) -> str:
        return absolute_name(self.module_name, self.is_package, level, base, name)

    # ------------------------------------------------------------ name resolution

    def resolve(self, node: ast.AST, frames: Sequence[_Frame] | None = None) -> tuple[str, ...]:
        frames = self.frames if frames is None else frames
        name = _name(node)
        if name is not None:
            return self._lookup(name, frames)
        kind = type(node)
        if kind is ast.Attribute:
            attr = node.attr  # type: ignore[attr-defined]
            return tuple(f"{q}.{attr}" for q in self.resolve(node.value, frames))  # type: ignore[attr-defined]
        if kind is ast.IfExp:
            return self.resolve(node.body, frames) + self.resolve(node.orelse, frames)  # type: ignore[attr-defined]
        return ()

    def _lookup(self, name: str, frames: Sequence[_Frame]) -> tuple[str, ...]:
        return lookup(name, frames, self.module_name, self.star_modules, self.resolve)

    def interesting(self, written: str | None, targets: tuple[str, ...]) -> bool:
        return mentions(self.names, written, targets)

    # ------------------------------------------------------------ scopes

    def module(self, tree: ast.Module) -> None:
        collector = _Collector(self, tree)
        frame = _Frame(ScopeLevel.MODULE, self.module_name, None, collector.found)
        self.frames.append(frame)
        for star in collector.star_imports:
            self.star_modules.append(self.absolute(star.level, star.module or "", "").rstrip("."))
        imports = [
            (local, how)
            for local, how in collector.imports
            if (bind := collector.found.get(local)) is not None and bind.kind == "import"
        ]
        for statement in tree.body:
            self.visit(statement)
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

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        if kind is ast.Call:
            self.call(node)  # type: ignore[arg-type]
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            self.function(node)  # type: ignore[arg-type]
        elif kind is ast.ClassDef:
            self.class_(node)  # type: ignore[arg-type]
        elif kind is ast.Lambda:
            self.lambdas += 1
            self._arguments(node.args)  # type: ignore[attr-defined]
            self.visit(node.body)  # type: ignore[attr-defined]
            self.lambdas -= 1
        elif kind is ast.IfExp:
            # LibCST visits in source order: `body if test else orelse`.
            self.visit(node.body)  # type: ignore[attr-defined]
            self.visit(node.test)  # type: ignore[attr-defined]
            self.visit(node.orelse)  # type: ignore[attr-defined]
        elif kind is ast.Dict:
            for key, value in zip(node.keys, node.values, strict=True):  # type: ignore[attr-defined]
                if key is not None:
                    self.visit(key)
                self.visit(value)
        else:
            if kind is ast.Assign or kind is ast.AnnAssign:
                self._note_assignment(node)  # type: ignore[arg-type]
            for child in ast.iter_child_nodes(node):
                self.visit(child)

    def _note_assignment(self, node: ast.Assign | ast.AnnAssign) -> None:
        if type(node) is ast.Assign:
            targets = node.targets
            if len(self.frames) == 1 and len(targets) == 1 and type(targets[0]) is ast.Name:
                self.alias_lines.setdefault(targets[0].id, node.lineno)
        else:
            targets = [node.target]  # type: ignore[union-attr]
        frame = self.frames[-1]
        if frame.first_param and self.classes_open:
            # `self.user_context = ...` in a method: the class has a context attribute.
            for target in targets:
                if type(target) is ast.Attribute and _name(target.value) == frame.first_param:
                    self.classes_open[-1].attributes.add(target.attr)
        value = node.value
        while type(value) is ast.Await:
            value = value.value
        if type(value) is ast.Call:
            self.assigned[id(value)] = targets

    def _decorator_name(self, expr: ast.expr) -> str:
        if type(expr) is ast.Call:
            expr = expr.func
        resolved = self.resolve(expr, self.frames[:1])
        if resolved:
            return resolved[0]
        return _dotted(expr) or ""

    def _storage(self, node: ast.Call, form: CallForm) -> Storage | None:
        """`_Extractor._usage`'s storage, then where the call is: a shared instance?"""
        frame = self.frames[-1]
        storage: Storage | None = None
        if form is not CallForm.FACTORY_REF and form is not CallForm.BASE_INIT:
            for target in self.assigned.get(id(node), ()):
                if type(target) is ast.Attribute:
                    owner = _name(target.value)
                    if (
                        owner is not None
                        and frame.level is ScopeLevel.FUNCTION
                        and self._names_a_class(frame, owner)
                    ):
                        storage = Storage.CLASS_ATTRIBUTE
                elif (
                    type(target) is ast.Name
                    and frame.level is ScopeLevel.FUNCTION
                    and target.id in frame.globals
                ):
                    storage = Storage.GLOBAL
        return placed_storage(frame.level, storage, frame.cached)

    def _names_a_class(self, frame: _Frame, name: str) -> bool:
        if frame.is_classmethod and name == frame.first_param:
            return True
        if any(info.name == name for info in self.classes_open):
            return True
        bind = self.frames[0].bindings.get(name)
        return bind is not None and bind.kind == "def" and name[:1].isupper()

    def _arguments(self, arguments: ast.arguments) -> None:
        """Parameters in source order, each with its annotation, then its default."""
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: list[ast.expr | None] = [None] * (
            len(positional) - len(arguments.defaults)
        ) + list(arguments.defaults)
        for arg, default in zip(positional, defaults, strict=True):
            self._parameter(arg, default)
        if arguments.vararg is not None:
            self._parameter(arguments.vararg, None)
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
            self._parameter(arg, default)
        if arguments.kwarg is not None:
            self._parameter(arguments.kwarg, None)

    def _parameter(self, arg: ast.arg, default: ast.expr | None) -> None:
        if arg.annotation is not None:
            self.visit(arg.annotation)
        if default is not None:
            self.visit(default)

    def class_(self, node: ast.ClassDef) -> None:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name}"
        bases = tuple(
            target
            for base in node.bases
            for target in self.resolve(base.value if type(base) is ast.Starred else base)
        )
        collector = _Collector(self, node)
        self.frames.append(_Frame(ScopeLevel.CLASS, qualname, node.name, collector.found))
        info = _ClassInfo(node.name, qualname, bases)
        self.classes_open.append(info)
        for child in (
            *node.decorator_list,
            *getattr(node, "type_params", ()),
            *node.bases,
            *node.keywords,
            *node.body,
        ):
            self.visit(child)
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

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.frames[-1]
        qualname = f"{outer.qualname}.{node.name}"
        collector = _Collector(self, node)
        class_qualname = outer.qualname if outer.level is ScopeLevel.CLASS else None
        params = [*node.args.posonlyargs, *node.args.args]
        first_param = params[0].arg if params else None
        is_async = type(node) is ast.AsyncFunctionDef
        decorators = [self._decorator_name(d) for d in node.decorator_list]
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
        )
        self.functions.append(
            FunctionFacts(
                qualname=qualname,
                name=node.name,
                is_async=is_async,
                line=node.lineno,
                params=(),
                annotated_locals=(),
                class_qualname=class_qualname,
                calls=(),
            )
        )
        self.frames.append(frame)
        if class_qualname and node.name == "__init__" and self.classes_open:
            info = self.classes_open[-1]
            info.init = tuple(p.arg for p in params[1:])
            info.star_kwargs = node.args.kwarg is not None
        for decorator in node.decorator_list:
            self.visit(decorator)
        for parameter in getattr(node, "type_params", ()):
            self.visit(parameter)
        self._arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        for statement in node.body:
            self.visit(statement)
        self.frames.pop()
        self.functions[frame.function_index] = replace(
            self.functions[frame.function_index], calls=tuple(dict.fromkeys(frame.calls))
        )

    # ------------------------------------------------------------ calls

    def call(self, node: ast.Call) -> None:
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
        self.visit(func)
        for _, _, value in args:
            self.visit(value)

    def _sites(
        self, node: ast.Call, targets: tuple[str, ...], written: str | None, args: list[_Arg]
    ) -> None:
        """Record what `_Extractor.visit_Call` records for this call, in the same order."""
        func = node.func
        for _, keyword, value in args:
            if keyword in FACTORY_KEYWORDS:
                ref_targets = self.resolve(value)
                if ref_targets and self.interesting(_dotted(value), ref_targets):
                    self._record(node, CallForm.FACTORY_REF, ref_targets, [])
        base_init = self._base_init(func, args)
        if base_init is not None:
            self._record(node, CallForm.BASE_INIT, *base_init)
            return
        if targets and "functools.partial" in targets and args and args[0][1] is None:
            inner = args[0][2]
            inner_targets = self.resolve(inner)
            if inner_targets and self.interesting(_dotted(inner), inner_targets):
                self._record(node, CallForm.PARTIAL, inner_targets, args[1:])
            return
        if self._is_choice(func):
            if targets and self.interesting(None, targets):
                self._record(node, CallForm.RUNTIME_CHOICE, targets, args)
            return
        if targets and self.interesting(written, targets):
            self._record(node, CallForm.CALL, targets, args)

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

    def _function_frame(self) -> _Frame | None:
        return next((f for f in reversed(self.frames) if f.level is ScopeLevel.FUNCTION), None)

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

    def _record(
        self, node: ast.Call, form: CallForm, targets: tuple[str, ...], args: list[_Arg]
    ) -> None:
        positional: list[ArgFacts] = []
        keywords: list[tuple[str, ArgFacts]] = []
        star_args = star_kwargs = False
        for star, keyword, value in args:
            facts = ArgFacts("", _is_none(value))
            if star == "*":
                star_args = True
            elif star == "**":
                star_kwargs = True
            elif keyword is not None:
                keywords.append((keyword, facts))
            else:
                positional.append(facts)
        function = self._function_frame()
        if function is not None and self.lambdas > function.lambdas:
            # A lambda body is its own synchronous function.
            function = None
        prefix = self.module_name + "."
        scope = Scope(
            level=self.frames[-1].level,
            function=function.qualname.removeprefix(prefix) if function else None,
            is_async=function.is_async if function else False,
            class_name=self.classes_open[-1].qualname.removeprefix(prefix)
            if self.classes_open
            else None,
        )
        self.calls.append(
            CallFacts(
                span=_NO_SPAN,
                form=form,
                callee_text="",
                targets=targets,
                positional=tuple(positional),
                keywords=tuple(keywords),
                star_args=star_args,
                star_kwargs=star_kwargs,
                scope=scope,
                function=function.function_index if function else -1,
                bound_name=None,
                escape=None,
                cm_eligible=False,
                storage=self._storage(node, form),
                normalized="",
                awaited=False,
            )
        )
