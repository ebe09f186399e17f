"""UnifiedToolDispatcher and its factory: isolation, results, metrics, lifecycle, legacy path."""

from __future__ import annotations

import asyncio
import functools
import warnings
from typing import Any

import pytest

from migrator.reference import (
    GLOBAL_SCOPE_ID,
    DispatcherClosedError,
    InMemoryWebSocketManager,
    InvalidContextError,
    ToolDispatcher,
    ToolFunction,
    ToolNotFoundError,
    UnifiedToolDispatcher,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
    WebSocketEventEmitterFactory,
)


def context(n: int | str) -> UserExecutionContext:
    return UserExecutionContext.from_request(f"user_{n}", f"thread_{n}", f"run_{n}")


async def echo(data: Any) -> dict[str, Any]:
    return {"echo": data}


def shout(text: str) -> str:
    return text.upper()


async def user1_specific_function(data: str) -> str:
    return f"user1 processed {data}"


async def user2_specific_function(data: str) -> str:
    return f"user2 processed {data}"


async def test_constructor_refuses_a_missing_context() -> None:
    with pytest.raises(InvalidContextError, match=r"no global mode.*create_request_scoped"):
        UnifiedToolDispatcher(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="UserExecutionContext"):
        UnifiedToolDispatcher("user_1")  # type: ignore[arg-type]


async def test_user_isolation_perfect_separation() -> None:
    """Design note 7.1, with the tools defined and the results checked by value."""
    async with (
        UnifiedToolDispatcherFactory.create_scoped_context(context(1)) as dispatcher1,
        UnifiedToolDispatcherFactory.create_scoped_context(context(2)) as dispatcher2,
    ):
        dispatcher1.register_tool("user1_tool", user1_specific_function)
        dispatcher2.register_tool("user2_tool", user2_specific_function)

        assert dispatcher1.has_tool("user1_tool")
        assert not dispatcher1.has_tool("user2_tool")
        assert dispatcher2.has_tool("user2_tool")
        assert not dispatcher2.has_tool("user1_tool")
        assert dispatcher1.tool_names == ("user1_tool",)
        assert dispatcher2.tool_names == ("user2_tool",)

        result1 = await dispatcher1.dispatch("user1_tool", data="user1_data")
        result2 = await dispatcher2.dispatch("user2_tool", data="user2_data")

        assert result1.value == "user1 processed user1_data"
        assert result2.value == "user2 processed user2_data"
        assert (result1.user_id, result2.user_id) == ("user_1", "user_2")
        assert "user1_data" in str(result1) and "user2_data" not in str(result1)
        assert "user2_data" in str(result2) and "user1_data" not in str(result2)

        # A user cannot reach the other's tool by name either.
        with pytest.raises(ToolNotFoundError, match="user2_tool"):
            await dispatcher1.dispatch("user2_tool", data="x")


async def test_same_tool_name_is_independent_per_dispatcher() -> None:
    d1 = await UnifiedToolDispatcherFactory.create_request_scoped(context(1), {"t": lambda: 1})
    d2 = await UnifiedToolDispatcherFactory.create_request_scoped(context(2), {"t": lambda: 2})
    d2.register_tool("t", lambda: 22)
    assert (await d1.dispatch("t")).value == 1
    assert (await d2.dispatch("t")).value == 22
    d1.unregister_tool("t")
    assert not d1.has_tool("t") and d2.has_tool("t")


async def test_tools_argument_forms() -> None:
    from_iterable = UnifiedToolDispatcher(context(1), tools=[echo, shout])
    assert from_iterable.tool_names == ("echo", "shout")
    from_mapping = UnifiedToolDispatcher(context(1), tools={"say": shout, "repeat": echo})
    assert from_mapping.tool_names == ("say", "repeat")
    from_generator = UnifiedToolDispatcher(context(1), tools=(f for f in [echo]))
    assert from_generator.tool_names == ("echo",)

    with pytest.raises(TypeError, match="mapping"):
        UnifiedToolDispatcher(context(1), tools=[lambda: 1])
    with pytest.raises(TypeError, match="wrap a single tool in a list"):
        UnifiedToolDispatcher(context(1), tools=echo)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        UnifiedToolDispatcher(context(1), tools={"x": 3})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        from_iterable.register_tool("echo", shout, replace=False)
    with pytest.raises(ValueError, match="tool name"):
        from_iterable.register_tool(" ", shout)


async def test_sync_async_and_awaitable_returning_tools() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    tools: dict[str, ToolFunction] = {
        "sync": shout,
        "async": add,
        "partial": functools.partial(add, 1),
    }
    d = UnifiedToolDispatcher(context(1), tools=tools)
    assert (await d.dispatch("sync", text="hi")).value == "HI"
    assert (await d.dispatch("async", a=2, b=3)).value == 5
    assert (await d.dispatch("partial", b=41)).value == 42


async def test_tool_failure_is_an_error_result_not_an_exception() -> None:
    def broken(**_: Any) -> None:
        raise ValueError("disk on fire")

    ctx = context(1)
    d = UnifiedToolDispatcher(ctx, tools=[broken, echo])
    result = await d.dispatch("broken", x=1)
    assert result.status == "error" and not result.ok
    assert result.value is None
    assert result.error == "ValueError: disk on fire"
    assert result.duration_ms >= 0.0
    assert (result.user_id, result.request_id) == ("user_1", ctx.request_id)

    ok = await d.dispatch("echo", data=1)
    assert ok.ok and ok.error is None and ok.value == {"echo": 1}


async def test_metrics_count_calls_errors_and_time() -> None:
    async def slow() -> str:
        await asyncio.sleep(0.01)
        return "done"

    def fail() -> None:
        raise RuntimeError("no")

    d = UnifiedToolDispatcher(context(1), tools=[slow, fail])
    assert d.metrics["calls"] == 0 and d.metrics["avg_duration_ms"] == 0.0
    await d.dispatch("slow")
    await d.dispatch("slow")
    await d.dispatch("fail")
    with pytest.raises(ToolNotFoundError):
        await d.dispatch("missing")
    m = d.metrics
    assert (m["calls"], m["successes"], m["errors"]) == (4, 2, 2)
    assert m["total_duration_ms"] >= 20.0
    assert m["avg_duration_ms"] == pytest.approx(m["total_duration_ms"] / 3)
    # A snapshot, not a live view.
    m["calls"] = 0
    assert d.metrics["calls"] == 4


async def test_cleanup_is_idempotent_and_later_use_fails_clearly() -> None:
    d = await UnifiedToolDispatcherFactory.create_request_scoped(context(1), [echo])
    await d.dispatch("echo", data=1)
    await d.cleanup()
    await d.cleanup()
    assert d.is_closed
    for use in (
        lambda: d.has_tool("echo"),
        lambda: d.register_tool("x", echo),
        lambda: d.tool_names,
    ):
        with pytest.raises(DispatcherClosedError, match="cleaned up"):
            use()
    with pytest.raises(DispatcherClosedError, match="create_request_scoped"):
        await d.dispatch("echo", data=2)
    with pytest.raises(DispatcherClosedError):
        async with d:
            pass
    assert d.metrics["calls"] == 1  # still readable for logging


async def test_dispatcher_is_an_async_context_manager() -> None:
    async with UnifiedToolDispatcher(context(1), [echo]) as d:
        assert d.is_request_scoped
        assert (await d.dispatch("echo", data="x")).value == {"echo": "x"}
    assert d.is_closed


async def test_scoped_context_cleans_up_on_error() -> None:
    seen: list[UnifiedToolDispatcher] = []
    with pytest.raises(RuntimeError, match="request failed"):
        async with UnifiedToolDispatcherFactory.create_scoped_context(context(1), [echo]) as d:
            seen.append(d)
            await d.dispatch("echo", data=1)
            raise RuntimeError("request failed")
    assert seen[0].is_closed


async def test_scoped_context_cleans_up_on_cancellation_inside_a_tool() -> None:
    started = asyncio.Event()
    seen: list[UnifiedToolDispatcher] = []

    async def wait_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async def request() -> None:
        async with UnifiedToolDispatcherFactory.create_scoped_context(
            context(1), [wait_forever]
        ) as d:
            seen.append(d)
            await d.dispatch("wait_forever")

    task = asyncio.create_task(request())
    await started.wait()
    assert not seen[0].is_closed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[0].is_closed
    assert seen[0].metrics["cancelled"] == 1


async def test_scoped_context_cleans_up_on_timeout() -> None:
    seen: list[UnifiedToolDispatcher] = []

    async def slow() -> None:
        await asyncio.sleep(10)

    async def request() -> None:
        async with UnifiedToolDispatcherFactory.create_scoped_context(context(1), [slow]) as d:
            seen.append(d)
            await d.dispatch("slow")

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(request(), timeout=0.05)
    assert seen[0].is_closed


async def test_scoped_context_refuses_invalid_context_before_yielding() -> None:
    with pytest.raises(InvalidContextError):
        async with UnifiedToolDispatcherFactory.create_scoped_context(None):  # type: ignore[arg-type]
            pytest.fail("the body must not run without a context")


class DenyListPermissions:
    def __init__(self, denied: set[str]) -> None:
        self.denied = denied
        self.asked: list[tuple[str, str]] = []

    def is_tool_allowed(self, user_context: UserExecutionContext, tool_name: str) -> bool:
        self.asked.append((user_context.user_id, tool_name))
        return tool_name not in self.denied


async def test_permission_service_is_consulted_before_running() -> None:
    ran: list[str] = []

    def drop_tables() -> None:
        ran.append("drop_tables")

    service = DenyListPermissions({"drop_tables"})
    d = await UnifiedToolDispatcherFactory.create_request_scoped(
        context(1), [drop_tables, echo], permission_service=service
    )
    with pytest.raises(PermissionError, match=r"user_1.*drop_tables"):
        await d.dispatch("drop_tables")
    assert ran == []
    assert (await d.dispatch("echo", data=1)).ok
    assert service.asked == [("user_1", "drop_tables"), ("user_1", "echo")]
    assert d.metrics["errors"] == 1


async def test_emitter_of_another_user_is_refused() -> None:
    manager = InMemoryWebSocketManager()
    emitter = await WebSocketEventEmitterFactory.create_emitter(context(2), manager)
    with pytest.raises(InvalidContextError, match="user_2"):
        UnifiedToolDispatcher(context(1), websocket_emitter=emitter)


def test_tool_dispatcher_alias() -> None:
    assert ToolDispatcher is UnifiedToolDispatcher


async def test_legacy_global_warns_and_is_shared_between_users() -> None:
    """The bug the migration removes: one dispatcher, every user's tools."""

    async def user1_secret_tool() -> str:
        return "user 1's private data"

    with pytest.deprecated_call(match="create_request_scoped"):
        first = UnifiedToolDispatcherFactory.create_legacy_global(tools=[user1_secret_tool])
    with pytest.deprecated_call():
        second = UnifiedToolDispatcherFactory.create_legacy_global()

    assert second is first
    assert not second.is_request_scoped and second.user_context is None
    # "User 2" sees and runs user 1's tool, and the result names no user.
    assert second.has_tool("user1_secret_tool")
    result = await second.dispatch("user1_secret_tool")
    assert result.value == "user 1's private data"
    assert result.user_id == GLOBAL_SCOPE_ID


async def test_legacy_global_reset_gives_a_new_instance() -> None:
    with pytest.deprecated_call():
        first = UnifiedToolDispatcherFactory.create_legacy_global(tools=[echo])
    UnifiedToolDispatcherFactory.reset_legacy_global()
    assert first.is_closed
    with pytest.deprecated_call():
        second = UnifiedToolDispatcherFactory.create_legacy_global()
    assert second is not first and not second.has_tool("echo")


async def test_request_scoped_paths_do_not_warn() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = await UnifiedToolDispatcherFactory.create_request_scoped(context(1), [echo])
        async with UnifiedToolDispatcherFactory.create_scoped_context(context(2)):
            pass
        UnifiedToolDispatcher(context(3))
        await d.dispatch("echo", data=1)
    assert [w for w in caught if issubclass(w.category, DeprecationWarning)] == []
