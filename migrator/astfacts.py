"""Facts the extractor takes from a function's CPython `ast`, for the rules of issue 12.

Kept apart from the walk itself so that each rule reads as one function:

- `local_values`: locals bound once by a plain assignment, with the text of their
  value (evidence for the user context), and the text of every `return`/`yield`
  value (derived factories);
- `statement_names`: what a statement binds and reads, and what it reads outside
  any `await` (the block-boundary rule, `migrator.scopes.block_reach`);
- `hands_out`: whether a later statement returns or yields a value made from the
  dispatcher without awaiting it (a coroutine that would run after the block);
- `fallback_children`: which children of a statement are the fallback of an
  optional import (`except ImportError:`, the `else:` of `if TYPE_CHECKING:`).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from migrator.scopes import IMPORT_ERRORS, StatementNames


def _own_nodes(statements: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of `statements`, not descending into nested functions and classes."""
    stack = list(statements)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def local_values(
    function: ast.FunctionDef | ast.AsyncFunctionDef, code: Callable[[ast.AST], str]
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(name, value text) of locals bound exactly once by `name = value`; return/yield texts."""
    bound: Counter[str] = Counter()
    values: dict[str, str] = {}
    returns: list[str] = []
    for node in _own_nodes(function.body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _stored(target):
                    bound[name] += 1
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = code(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound[node.target.id] += 1
            if node.value is not None:
                values[node.target.id] = code(node.value)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            for name in _stored(node.target):
                bound[name] += 2  # rebound: its first value says nothing of later ones
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            for name in _stored(node.optional_vars):
                bound[name] += 2
        elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
            returns.append(code(node.value) if node.value is not None else "")
    params = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    assigned = tuple(
        (name, text) for name, text in values.items() if bound[name] == 1 and name not in params
    )
    return assigned, tuple(returns)


def _stored(target: ast.AST) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def statement_names(statement: ast.AST, calls_finish: bool = False) -> StatementNames:
    """What `statement` binds, reads, and reads outside any `await`.

    In a synchronous function (`calls_finish`) a call's result is finished when the
    call returns, so a name used inside a call counts as consumed, like an awaited one.
    """
    binds: set[str] = set()
    reads: set[str] = set()
    unawaited: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(statement, False)]
    while stack:
        node, awaited = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                binds.add(node.id)
            else:
                reads.add(node.id)
                if not awaited:
                    unawaited.add(node.id)
            continue
        inner = (
            awaited or isinstance(node, ast.Await) or (calls_finish and isinstance(node, ast.Call))
        )
        if isinstance(node, ast.comprehension):
            # A comprehension's own variable is not bound in the statement's scope.
            stack.extend((child, inner) for child in (node.iter, *node.ifs))
            continue
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return StatementNames(frozenset(binds), frozenset(unawaited), frozenset(reads))


def hands_out(
    statements: Iterable[ast.AST], names: frozenset[str], calls_finish: bool = False
) -> bool:
    """Whether a `return`/`yield` among `statements` gives out one of `names` unawaited."""
    for node in _own_nodes(statements):
        if (
            isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom))
            and node.value is not None
            and statement_names(node.value, calls_finish).unawaited & names
        ):
            return True
    return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught] if caught else []
    return bool(names) and all(isinstance(n, ast.Name) and n.id in IMPORT_ERRORS for n in names)


def is_type_checking(test: ast.AST) -> bool:
    """`TYPE_CHECKING` or `typing.TYPE_CHECKING`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def fallback_children(node: ast.AST) -> frozenset[int]:
    """Ids of the children of `node` that hold the fallback of an optional import."""
    if isinstance(node, ast.ExceptHandler) and _catches_import_error(node):
        return frozenset(id(child) for child in node.body)
    if isinstance(node, ast.If) and is_type_checking(node.test):
        return frozenset(id(child) for child in node.orelse)
    return frozenset()
