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


def statement_parts(statement: ast.stmt, calls_finish: bool = False) -> tuple[StatementNames, ...]:
    """`statement` as the block-boundary rule reads it: a compound statement is its
    header (a loop's variables are bound from its iterable, a `with`'s from its
    items) followed by the statements of its bodies, in order."""
    parts: list[StatementNames] = []

    def header(binds: Iterable[ast.AST], reads: Iterable[ast.AST]) -> None:
        bound = {name for target in binds for name in _stored(target)}
        read = [statement_names(node, calls_finish) for node in reads]
        parts.append(
            StatementNames(
                frozenset(bound),
                frozenset().union(*(r.unawaited for r in read)),
                frozenset().union(*(r.reads for r in read)),
            )
        )

    def body(statements: Iterable[ast.stmt]) -> None:
        for inner in statements:
            parts.extend(statement_parts(inner, calls_finish))

    if isinstance(statement, (ast.For, ast.AsyncFor)):
        header([statement.target], [statement.iter])
        body([*statement.body, *statement.orelse])
    elif isinstance(statement, (ast.While, ast.If)):
        header([], [statement.test])
        body([*statement.body, *statement.orelse])
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        header(
            [i.optional_vars for i in statement.items if i.optional_vars is not None],
            [i.context_expr for i in statement.items],
        )
        body(statement.body)
    elif isinstance(statement, ast.Try):
        body(statement.body)
        for handler in statement.handlers:
            header([], [handler.type] if handler.type is not None else [])
            body(handler.body)
        body([*statement.orelse, *statement.finalbody])
    else:
        parts.append(statement_names(statement, calls_finish))
    return tuple(parts)


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


def parametrized(
    function: ast.FunctionDef | ast.AsyncFunctionDef, code: Callable[[ast.AST], str]
) -> tuple[tuple[str, str], ...]:
    """(parameter, values text) for each `@pytest.mark.parametrize("a,b", values)`."""
    found: list[tuple[str, str]] = []
    for decorator in function.decorator_list:
        if not (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "parametrize"
            and len(decorator.args) >= 2
        ):
            continue
        names, values = decorator.args[0], decorator.args[1]
        if isinstance(names, ast.Constant) and isinstance(names.value, str):
            listed = [n.strip() for n in names.value.split(",")]
        elif isinstance(names, (ast.Tuple, ast.List)):
            listed = [
                n.value
                for n in names.elts
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
        else:
            continue
        if len(listed) == 1:
            found.append((listed[0], code(values)))
        elif isinstance(values, (ast.List, ast.Tuple)):
            # Several names: each row is a tuple; a name's values are its column.
            for index, name in enumerate(listed):
                column = [
                    code(row.elts[index])
                    for row in values.elts
                    if isinstance(row, (ast.Tuple, ast.List)) and index < len(row.elts)
                ]
                found.append((name, "[" + ", ".join(column) + "]"))
    return tuple(found)
