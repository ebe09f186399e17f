"""The scope model of the extractor: bindings, import resolution, name lookup.

The rules that do not depend on the tree's node types live here: how a second
binding of a name changes its kind, how a relative import becomes a qualified
name, how a name is looked up through module, class and function frames, which
calls are worth recording, and where a created object is stored because of where
the call is. The node types stay with `migrator.extract`: a binding's `node` is
the tree's own expression, handed back to the extractor's `resolve` to follow an
alias.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from migrator.facts import Storage
from migrator.model import ScopeLevel

FACTORY_KEYWORDS = frozenset({"default_factory", "factory"})
CACHE_DECORATORS = frozenset({"functools.lru_cache", "functools.cache"})


@dataclass
class Bind:
    kind: str  # "import", "alias", "choice", "def", "local"
    targets: tuple[str, ...] = ()
    #: The assigned expression of an alias or a choice, in the extractor's tree.
    node: Any = None
    count: int = 1
    #: Bound where an import may have failed or is only for type checkers: in an
    #: `except ImportError:` handler, or in the `else:` of `if TYPE_CHECKING:`.
    fallback: bool = False


#: Exceptions whose handler holds the fallback of an optional import.
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


def add_binding(found: dict[str, Bind], name: str, bind: Bind) -> None:
    """Record one binding of `name` in a scope's table.

    `try: from m import X` / `except ImportError: X = None` (or a stub class), and
    `if TYPE_CHECKING: from m import X` / `else: X = ...`, still name m.X: where the
    import succeeds, that is what X is, and the fallback is never a dispatcher.
    """
    known = found.get(name)
    if known is None:
        found[name] = bind
        return
    if known.kind == "import" and bind.fallback:
        return
    if bind.kind == "import" and known.fallback and known.count == 1:
        found[name] = bind
        return
    known.count += 1
    # A name bound twice is only trusted as an import if every binding is an import.
    if known.kind != bind.kind:
        found[name] = Bind("local", count=known.count)


def absolute_name(module: str, is_package: bool, level: int, base: str, name: str) -> str:
    """The qualified name `from <level dots><base> import <name>` binds in `module`."""
    if level == 0:
        return f"{base}.{name}" if base else name
    parts = module.split(".")
    package_parts = parts if is_package else parts[:-1]
    if level > 1:
        package_parts = package_parts[: len(package_parts) - (level - 1)]
    prefix = ".".join(package_parts)
    return ".".join(p for p in (prefix, base, name) if p)


class Frame(Protocol):
    level: ScopeLevel
    qualname: str
    bindings: dict[str, Bind]
    globals: set[str]


def lookup(
    name: str,
    frames: Sequence[Frame],
    module: str,
    star_modules: Sequence[str],
    resolve: Callable[[Any, Sequence[Any]], tuple[str, ...]],
) -> tuple[str, ...]:
    """Qualified names `name` may denote from the innermost of `frames`, or ().

    `resolve(node, outer_frames)` follows an alias's assigned expression.
    """
    innermost = len(frames) - 1
    for index in range(innermost, -1, -1):
        frame = frames[index]
        if frame.level is ScopeLevel.CLASS and index != innermost:
            continue  # class bodies are not visible from nested functions
        if frame.level is ScopeLevel.FUNCTION and name in frame.globals:
            continue
        bind = frame.bindings.get(name)
        if bind is None:
            continue
        if frame.level is ScopeLevel.MODULE:
            if bind.kind == "import":
                return bind.targets
            return (f"{module}.{name}",)
        if bind.kind == "import":
            return bind.targets
        if bind.kind in {"alias", "choice"} and bind.count == 1 and bind.node is not None:
            return resolve(bind.node, frames[:index])
        if bind.kind == "def" and frame.level is ScopeLevel.CLASS:
            return (f"{frame.qualname}.{name}",)
        return ()  # a local, a parameter: shadows whatever the module binds
    for star in star_modules:
        return (f"{star}.{name}",)
    return ()


@dataclass(frozen=True)
class StatementNames:
    """What one statement does with names, as the block-boundary rule needs it."""

    #: Names the statement binds (assignment targets, loop variables, `as` names).
    binds: frozenset[str]
    #: Names it reads outside any `await`: a value made from them is not finished yet.
    unawaited: frozenset[str]
    #: Every name it reads.
    reads: frozenset[str]


def block_reach(
    name: str, later: Sequence[Sequence[StatementNames]]
) -> tuple[int | None, frozenset[str]]:
    """How far an `async with` around `name = ...` must reach in its block.

    The block must cover every later use of `name` and of every name assigned from
    an expression that mentions it (or such a name) without awaiting it: a
    coroutine, a bound method, a lambda, a generator, a task, a comprehension of
    those runs on the dispatcher when it is awaited later. Each later statement is
    given as its parts in order (a compound statement's header, then its bodies:
    `migrator.astfacts.statement_parts`). Returns the index in `later` of the last
    statement that reads one of them (None when none does), and the names made
    from `name`.
    """
    made = {name}
    last: int | None = None
    for index, parts in enumerate(later):
        for part in parts:
            if part.reads & made:
                last = index
            if part.binds and part.unawaited & made:
                made |= part.binds
    return last, frozenset(made)


def mentions(names: frozenset[str], written: str | None, targets: Iterable[str]) -> bool:
    """Whether a callee, as written or resolved, ends in one of `names`: worth recording."""
    if written is not None and written.rsplit(".", 1)[-1] in names:
        return True
    return any(t.rsplit(".", 1)[-1] in names for t in targets)


def placed_storage(
    level: ScopeLevel, storage: Storage | None, cached: bool, escape: str | None = "returned"
) -> Storage | None:
    """Where a created object is stored, given where the call is (`storage`: by its use).

    In a cached function the object is shared only if it leaves the call (`escape`):
    a cached `supports_tool()` that builds a dispatcher and returns a bool keeps the
    bool, not the dispatcher.
    """
    if level is ScopeLevel.MODULE:
        return Storage.MODULE_LEVEL
    if level is ScopeLevel.CLASS:
        return Storage.CLASS_BODY
    if storage is None and cached and escape is not None:
        return Storage.CACHED_GETTER
    return storage


__all__ = [
    "CACHE_DECORATORS",
    "FACTORY_KEYWORDS",
    "IMPORT_ERRORS",
    "Bind",
    "Frame",
    "StatementNames",
    "absolute_name",
    "add_binding",
    "block_reach",
    "lookup",
    "mentions",
    "placed_storage",
]
