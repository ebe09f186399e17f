"""Many users at once (design note 7.3): results and events stay with their user."""

from __future__ import annotations

import asyncio
import random

from migrator.reference import (
    InMemoryWebSocketManager,
    ToolResult,
    UnifiedToolDispatcher,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
)

USERS = 15
OPERATIONS = 5


async def test_concurrent_users_keep_their_results_and_events() -> None:
    manager = InMemoryWebSocketManager()
    all_open = asyncio.Event()
    open_sessions = 0
    dispatchers: list[UnifiedToolDispatcher] = []
    rng = random.Random(7)

    async def simulate_user_session(user: int) -> tuple[UserExecutionContext, list[ToolResult]]:
        nonlocal open_sessions
        ctx = UserExecutionContext.from_request(f"user_{user}", f"thread_{user}", f"run_{user}")

        # The same tool name on every dispatcher, each closing over its own user: any mix-up
        # between registries shows in the values.
        async def test_tool(operation: int) -> tuple[str, int]:
            await asyncio.sleep(rng.random() / 1000)  # interleave the users at random
            return (f"user_{user}", operation)

        async with UnifiedToolDispatcherFactory.create_scoped_context(
            ctx, [test_tool], websocket_manager=manager
        ) as dispatcher:
            dispatchers.append(dispatcher)
            open_sessions += 1
            if open_sessions == USERS:
                all_open.set()
            # Every session is open before anyone dispatches, so they truly overlap.
            await asyncio.wait_for(all_open.wait(), timeout=5)
            results = [
                await dispatcher.dispatch("test_tool", operation=i) for i in range(OPERATIONS)
            ]
        return ctx, results

    sessions = await asyncio.gather(*(simulate_user_session(u) for u in range(USERS)))

    assert len(sessions) == USERS
    for ctx, results in sessions:
        assert [r.value for r in results] == [(ctx.user_id, i) for i in range(OPERATIONS)]
        assert all(r.ok for r in results)
        assert {(r.user_id, r.request_id) for r in results} == {(ctx.user_id, ctx.request_id)}

        events = manager.events_for(ctx.user_id)
        assert len(events) == 2 * OPERATIONS
        assert {e["user_id"] for e in events} == {ctx.user_id}
        assert {e["request_id"] for e in events} == {ctx.request_id}
        assert [e["sequence"] for e in events] == list(range(1, 2 * OPERATIONS + 1))
        completed = [e["payload"]["result"] for e in events if e["type"] == "tool_completed"]
        assert completed == [[ctx.user_id, i] for i in range(OPERATIONS)]

    assert len({id(d) for d in dispatchers}) == USERS
    assert all(d.is_closed for d in dispatchers)
    assert sum(d.metrics["successes"] for d in dispatchers) == USERS * OPERATIONS


async def test_a_failing_user_does_not_disturb_the_others() -> None:
    async def session(user: int) -> list[ToolResult]:
        ctx = UserExecutionContext.from_request(f"user_{user}", "t", "r")

        async def work(i: int) -> int:
            await asyncio.sleep(0)
            if user == 3:
                raise RuntimeError(f"user {user} broke")
            return user * 100 + i

        async with UnifiedToolDispatcherFactory.create_scoped_context(ctx, [work]) as d:
            return [await d.dispatch("work", i=i) for i in range(OPERATIONS)]

    all_results = await asyncio.gather(*(session(u) for u in range(USERS)))
    for user, results in enumerate(all_results):
        if user == 3:
            assert [r.error for r in results] == ["RuntimeError: user 3 broke"] * OPERATIONS
        else:
            assert [r.value for r in results] == [user * 100 + i for i in range(OPERATIONS)]
