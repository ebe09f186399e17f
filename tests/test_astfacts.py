"""The per-function facts of issue 12, read from CPython's ast (migrator.astfacts)."""

from __future__ import annotations

import ast

import pytest

from migrator.astfacts import fallback_children, hands_out, local_values, statement_parts
from migrator.scopes import Bind, add_binding, block_reach


def _function(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    return node


def test_locals_bound_once_and_return_values() -> None:
    function = _function(
        "async def f(user_context, tools):\n"
        "    context = {'user_id': 'u'}\n"
        "    child = user_context.create_child_context('x')\n"
        "    again = 1\n"
        "    again = 2\n"
        "    for item in tools:\n        pass\n"
        "    if tools:\n        return ToolDispatcher(child)\n"
        "    def inner():\n        hidden = 3\n        return hidden\n"
        "    return await Factory.create(user_context)\n"
    )
    assigned, returns = local_values(function, ast.unparse)
    assert dict(assigned) == {
        "context": "{'user_id': 'u'}",
        "child": "user_context.create_child_context('x')",
    }
    assert sorted(returns) == ["ToolDispatcher(child)", "await Factory.create(user_context)"]


def test_yields_count_as_handed_out_values() -> None:
    function = _function(
        "async def scoped(ctx):\n    d = await make(ctx)\n    try:\n        yield d\n"
        "    finally:\n        await d.cleanup()\n"
    )
    assert local_values(function, ast.unparse)[1] == ("d",)


@pytest.mark.parametrize(
    ("body", "reach", "made"),
    [
        (
            ["tasks = [d.dispatch(n) for n in names]", "results = await gather(*tasks)", "x = 1"],
            1,
            {"d", "tasks"},
        ),
        (
            ["count = d.dispatch", "for p in pages:\n    t += (await count(p)).value", "y = t"],
            1,
            {"d", "count"},
        ),
        (["r = await d.dispatch('x')", "v = r.value"], 0, {"d"}),
        (["z = 1"], None, {"d"}),
        (
            ["for k, v in other.items():\n    d.register(k, v)", "r = await d.run()", "x = r"],
            1,
            {"d"},
        ),
    ],
    ids=["gathered-tasks", "bound-method", "awaited-result", "unused", "loop-over-other"],
)
def test_block_reach_covers_what_is_made_from_the_dispatcher(
    body: list[str], reach: int | None, made: set[str]
) -> None:
    statements = [statement_parts(ast.parse(text).body[0]) for text in body]
    assert block_reach("d", statements) == (reach, frozenset(made))


def test_a_returned_coroutine_is_handed_out() -> None:
    later = ast.parse("tasks = [d.f(x) for x in xs]\nreturn gather(*tasks)\n").body
    assert hands_out(later, frozenset({"d", "tasks"}))
    awaited = ast.parse("return await gather(*tasks)\n").body
    assert not hands_out(awaited, frozenset({"d", "tasks"}))


def test_fallback_children_of_optional_imports() -> None:
    tree = ast.parse(
        "try:\n    from m import X\nexcept ImportError:\n    X = None\n"
        "if TYPE_CHECKING:\n    from m import Y\nelse:\n    Y = object\n"
        "try:\n    import z\nexcept ValueError:\n    z = None\n"
    )
    first, second, third = tree.body
    assert isinstance(first, ast.Try) and isinstance(third, ast.Try)
    assert fallback_children(first.handlers[0]) == {id(first.handlers[0].body[0])}
    assert fallback_children(second) == {id(second.orelse[0])}  # type: ignore[attr-defined]
    assert fallback_children(third.handlers[0]) == frozenset()


def test_a_fallback_binding_keeps_the_import() -> None:
    found: dict[str, Bind] = {}
    add_binding(found, "X", Bind("import", ("m.X",)))
    add_binding(found, "X", Bind("local", fallback=True))
    assert found["X"].kind == "import" and found["X"].targets == ("m.X",)
    add_binding(found, "Y", Bind("def", fallback=True))
    add_binding(found, "Y", Bind("import", ("m.Y",)))
    assert found["Y"].kind == "import"
    add_binding(found, "Z", Bind("import", ("m.Z",)))
    add_binding(found, "Z", Bind("local"))
    assert found["Z"].kind == "local"
