"""Per-user events through the in-memory manager: routing, content, failure handling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from migrator.reference import (
    EventRoutingError,
    InMemoryWebSocketManager,
    ToolNotFoundError,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
    WebSocketEventEmitter,
    WebSocketEventEmitterFactory,
    WebSocketManager,
)

EVENT_FIELDS = {
    "type",
    "user_id",
    "thread_id",
    "run_id",
    "request_id",
    "correlation_id",
    "sequence",
    "timestamp",
    "payload",
}


def context(n: int | str) -> UserExecutionContext:
    return UserExecutionContext.from_request(f"user_{n}", f"thread_{n}", f"run_{n}")


async def process_param(param: str) -> dict[str, str]:
    return {"processed": param}


async def test_websocket_event_isolation() -> None:
    """Design note 7.2, against a real manager instead of a mock."""
    manager = InMemoryWebSocketManager()
    assert isinstance(manager, WebSocketManager)
    user1_context, user2_context = context(1), context(2)
    dispatcher1 = await UnifiedToolDispatcherFactory.create_request_scoped(
        user1_context, {"test_tool": process_param}, websocket_manager=manager
    )
    dispatcher2 = await UnifiedToolDispatcherFactory.create_request_scoped(
        user2_context, {"test_tool": process_param}, websocket_manager=manager
    )

    await dispatcher1.dispatch("test_tool", param="value1")
    await dispatcher2.dispatch("test_tool", param="value2")

    user1_events = manager.events_for("user_1")
    user2_events = manager.events_for("user_2")
    assert [e["type"] for e in user1_events] == ["tool_executing", "tool_completed"]
    assert [e["type"] for e in user2_events] == ["tool_executing", "tool_completed"]

    user1_event_data = json.dumps(user1_events)
    assert "user_1" in user1_event_data and "value1" in user1_event_data
    assert "user_2" not in user1_event_data and "value2" not in user1_event_data
    user2_event_data = json.dumps(user2_events)
    assert "user_2" in user2_event_data and "value2" in user2_event_data
    assert "user_1" not in user2_event_data and "value1" not in user2_event_data
    assert manager.user_ids == {"user_1", "user_2"}


async def test_event_shape_and_payloads() -> None:
    manager = InMemoryWebSocketManager()
    ctx = context(1)
    d = await UnifiedToolDispatcherFactory.create_request_scoped(
        ctx, {"test_tool": process_param}, websocket_manager=manager
    )
    result = await d.dispatch("test_tool", param="p")
    executing, completed = manager.events_for("user_1")
    for index, event in enumerate((executing, completed), start=1):
        assert set(event) == EVENT_FIELDS
        assert (event["user_id"], event["thread_id"], event["run_id"]) == (
            "user_1",
            "thread_1",
            "run_1",
        )
        assert event["request_id"] == ctx.request_id
        assert event["correlation_id"] == ctx.get_correlation_id()
        assert event["sequence"] == index
    assert executing["payload"] == {"tool_name": "test_tool", "parameters": {"param": "p"}}
    assert completed["payload"]["result"] == {"processed": "p"}
    assert completed["payload"]["duration_ms"] == pytest.approx(result.duration_ms)


async def test_error_events_for_failing_and_unknown_tools() -> None:
    def explode() -> None:
        raise KeyError("missing row")

    manager = InMemoryWebSocketManager()
    d = await UnifiedToolDispatcherFactory.create_request_scoped(
        context(1), [explode], websocket_manager=manager
    )
    result = await d.dispatch("explode")
    with pytest.raises(ToolNotFoundError):
        await d.dispatch("nope")
    types = [e["type"] for e in manager.events_for("user_1")]
    assert types == ["tool_executing", "tool_error", "tool_error"]
    failed, unknown = manager.events_for("user_1")[1:]
    assert failed["payload"]["error"] == result.error == "KeyError: 'missing row'"
    assert "nope" in unknown["payload"]["error"]


async def test_connected_queues_receive_only_their_users_events() -> None:
    manager = InMemoryWebSocketManager()
    q1a, q1b, q2 = manager.connect("user_1"), manager.connect("user_1"), manager.connect("user_2")
    assert manager.connection_count("user_1") == 2
    e1 = await WebSocketEventEmitterFactory.create_emitter(context(1), manager)
    await e1.notify_agent_started("agent", {"step": 1})
    assert q1a.get_nowait()["payload"]["context"] == {"step": 1}
    assert q1b.get_nowait()["type"] == "agent_started"
    assert q2.empty()

    manager.disconnect("user_1", q1a)
    await e1.notify_agent_completed("agent", {"ok": True})
    assert q1a.empty() and q1b.qsize() == 1 and q2.empty()

    # Each recipient has its own copy.
    q1b.get_nowait()["payload"]["result"]["ok"] = False
    assert manager.events_for("user_1")[-1]["payload"]["result"] == {"ok": True}


async def test_managers_refuse_events_of_another_user() -> None:
    manager = InMemoryWebSocketManager()
    event = WebSocketEventEmitter(context(1), manager).build_event("tool_executing", {})
    with pytest.raises(EventRoutingError, match=r"user_1.*user_2"):
        await manager.emit_to_user("user_2", event)
    with pytest.raises(EventRoutingError):
        await manager.emit_to_user("user_2", {"type": "x"})
    with pytest.raises(EventRoutingError):
        await manager.emit_to_user("", event)
    assert manager.events_for("user_2") == []


async def test_emitter_refuses_a_foreign_run_id() -> None:
    manager = InMemoryWebSocketManager()
    emitter = await WebSocketEventEmitterFactory.create_emitter(context(1), manager)
    await emitter.notify_agent_started(run_id="run_1", agent_name="a")
    with pytest.raises(EventRoutingError, match="run_2"):
        await emitter.notify_agent_error(run_id="run_2", agent_name="a", error="e")
    assert len(manager.events_for("user_1")) == 1


async def test_create_emitter_needs_a_manager_and_a_context() -> None:
    with pytest.raises(TypeError, match="emit_to_user"):
        await WebSocketEventEmitterFactory.create_emitter(context(1), object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="required"):
        await WebSocketEventEmitterFactory.create_emitter(None, InMemoryWebSocketManager())  # type: ignore[arg-type]


async def test_results_that_are_not_json_are_still_sent() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    def make_opaque() -> dict[Any, Any]:
        return {"thing": Opaque(), "ids": {3, 1, 2}, 7: (1, 2)}

    manager = InMemoryWebSocketManager()
    d = await UnifiedToolDispatcherFactory.create_request_scoped(
        context(1), [make_opaque], websocket_manager=manager
    )
    result = await d.dispatch("make_opaque")
    assert isinstance(result.value["thing"], Opaque)  # the caller gets the real object
    sent = manager.events_for("user_1")[-1]["payload"]["result"]
    assert sent == {"thing": "<Opaque thing>", "ids": [1, 2, 3], "7": [1, 2]}


class BrokenManager:
    """A manager whose transport is down."""

    def __init__(self) -> None:
        self.attempts = 0

    async def emit_to_user(self, user_id: str, event: dict[str, Any]) -> None:
        self.attempts += 1
        raise ConnectionError("socket gone")


async def test_event_failures_do_not_fail_the_tool_call() -> None:
    manager = BrokenManager()
    d = await UnifiedToolDispatcherFactory.create_request_scoped(
        context(1), {"test_tool": process_param}, websocket_manager=manager
    )
    result = await d.dispatch("test_tool", param="x")
    assert result.ok and result.value == {"processed": "x"}
    assert manager.attempts == 2
    assert d.metrics["event_failures"] == 2


async def test_cleanup_drops_the_emitter() -> None:
    manager = InMemoryWebSocketManager()
    async with UnifiedToolDispatcherFactory.create_scoped_context(
        context(1), {"test_tool": process_param}, websocket_manager=manager
    ) as d:
        assert d.websocket_emitter is not None
        await d.dispatch("test_tool", param="x")
    assert d.websocket_emitter is None
    assert len(manager.events_for("user_1")) == 2
