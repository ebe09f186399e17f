"""Events and results go where the context said when the dispatcher was made, whatever is
done to the context object afterwards."""

from __future__ import annotations

import contextlib
from typing import Any

from migrator.reference import (
    InMemoryWebSocketManager,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
)


def _slot_of(ctx: UserExecutionContext, name: str) -> Any:
    return type(ctx).__dict__[name]._slot


async def secret() -> str:
    return "alice's secret"


async def test_tampering_with_the_context_does_not_redirect_events_or_results() -> None:
    manager = InMemoryWebSocketManager()
    ctx = UserExecutionContext.from_request("user-alice", "thread-a", "run-a")
    async with UnifiedToolDispatcherFactory.create_scoped_context(
        ctx, tools=[secret], websocket_manager=manager
    ) as dispatcher:
        # What the issue reported: a frozen dataclass does not stop object.__setattr__.
        with contextlib.suppress(AttributeError):
            object.__setattr__(ctx, "user_id", "user-bob")
        assert ctx.user_id == "user-alice"
        # Even past the field's guard (its raw slot), routing keeps the value bound at creation.
        _slot_of(ctx, "user_id").__set__(ctx, "user-bob")
        _slot_of(ctx, "request_id").__set__(ctx, "forged-request")
        result = await dispatcher.dispatch("secret")

    assert (result.value, result.user_id) == ("alice's secret", "user-alice")
    assert result.request_id != "forged-request"
    assert manager.events_for("user-bob") == []
    events = manager.events_for("user-alice")
    assert [e["type"] for e in events] == ["tool_executing", "tool_completed"]
    assert {e["user_id"] for e in events} == {"user-alice"}
    assert {e["request_id"] for e in events} == {result.request_id}
