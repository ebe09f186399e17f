"""Facts extracted from one file, before anything is known about other files.

Extraction (`migrator.extract`) turns a file into `FileFacts`; linking
(`migrator.resolve`) joins the facts of all files into an alias table and the
family of dispatcher classes; classification (`migrator.classify`) turns the
recorded calls into findings. Facts are plain frozen data so that they can be
cached on disk and sent between processes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from migrator.model import Scope, Span


class CallForm(str, enum.Enum):
    CALL = "call"  # X(...)
    PARTIAL = "partial"  # functools.partial(X, ...)
    FACTORY_REF = "factory-ref"  # default_factory=X
    BASE_INIT = "base-init"  # super().__init__(...) / Base.__init__(self, ...)
    RUNTIME_CHOICE = "runtime-choice"  # (A if flag else B)(...) or a local bound so


class Storage(str, enum.Enum):
    """Where the created object ends up, when that makes it shared between users."""

    MODULE_LEVEL = "module-level"
    CLASS_BODY = "class-body"
    GLOBAL = "global"
    CLASS_ATTRIBUTE = "class-attribute"
    CACHED_GETTER = "cached-getter"


@dataclass(frozen=True)
class ArgFacts:
    text: str
    is_none: bool


@dataclass(frozen=True)
class CallFacts:
    span: Span
    form: CallForm
    #: The callee as written, e.g. `mod.ToolDispatcher` or `super().__init__`.
    callee_text: str
    #: Qualified names the callee may resolve to through this file's imports:
    #: one for a plain call, several for a run-time choice, the bases for a base-init.
    targets: tuple[str, ...]
    positional: tuple[ArgFacts, ...]
    keywords: tuple[tuple[str, ArgFacts], ...]
    star_args: bool
    star_kwargs: bool
    scope: Scope
    #: Index into `FileFacts.functions` of the enclosing function, or -1.
    function: int
    #: The name bound by `name = Call(...)` (a simple statement in a block), else None.
    bound_name: str | None
    #: Why the object escapes the function (return, attribute, argument, ...), or None.
    escape: str | None
    #: True when the context-manager rewrite is structurally possible.
    cm_eligible: bool
    storage: Storage | None
    #: Whitespace-free text of the whole call: the fingerprint's anchor.
    normalized: str
    #: The call is the whole value of an `await` (already awaited).
    awaited: bool


@dataclass(frozen=True)
class ParamFacts:
    name: str
    #: Qualified names found in the annotation (Optional[...] and strings unwrapped).
    annotation: tuple[str, ...]
    annotated: bool


@dataclass(frozen=True)
class PytestFacts:
    """What pytest sees of a function: whether it is a fixture, and what its decorators bind."""

    #: Decorated `@pytest.fixture` or `@pytest_asyncio.fixture` (called or not).
    fixture: bool
    #: The fixture's `scope=`: the string literal, `function` when absent, `?` when computed.
    scope: str
    #: Names bound by `@pytest.mark.parametrize` (its first argument).
    parametrized: tuple[str, ...]
    #: Qualified names in the return annotation; None when it has none.
    returns: tuple[str, ...] | None


@dataclass(frozen=True)
class FunctionFacts:
    qualname: str
    name: str
    is_async: bool
    line: int
    params: tuple[ParamFacts, ...]
    #: Locals annotated in the body (`ctx: UserExecutionContext = ...`).
    annotated_locals: tuple[ParamFacts, ...]
    #: Enclosing class's qualified name when this is a method.
    class_qualname: str | None
    #: Qualified names this function calls (for the async caller chain).
    calls: tuple[str, ...]
    #: Locals bound exactly once, by a plain `name = value`: (name, source text of the
    #: value), as evidence of what a name passed as the user context is.
    assigned: tuple[tuple[str, str], ...] = ()
    #: Source text of every `return` / `yield` value (`""` for a bare `return`), to
    #: find functions that only hand out a dispatcher (derived factories).
    returns: tuple[str, ...] = ()
    #: Parameters given by `@pytest.mark.parametrize`: (name, source text of the values).
    parametrized: tuple[tuple[str, str], ...] = ()
    #: Its decorators as pytest reads them (test code only needs them; None in link facts).
    pytest: PytestFacts | None = None


@dataclass(frozen=True)
class ClassFacts:
    name: str
    qualname: str
    line: int
    bases: tuple[str, ...]
    #: Positional parameter names of `__init__` after `self`; None when not defined here.
    init_params: tuple[str, ...] | None
    init_star_kwargs: bool
    self_attributes: tuple[str, ...]


@dataclass(frozen=True)
class Binding:
    """A module-level name bound to another qualified name (import or alias assignment)."""

    name: str
    target: str
    line: int
    how: str  # "import", "import-as", "assign"


@dataclass(frozen=True)
class FileFacts:
    relpath: str
    module: str
    is_package: bool
    bindings: tuple[Binding, ...]
    classes: tuple[ClassFacts, ...]
    functions: tuple[FunctionFacts, ...]
    calls: tuple[CallFacts, ...]
    #: Line numbers (1-based) that carry a `# migrator: ignore[...]` comment, with its text.
    suppressions: tuple[tuple[int, str], ...]
