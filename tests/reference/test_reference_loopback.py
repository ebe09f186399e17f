"""Event isolation over real WebSocket connections on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from migrator.reference import (
    EventRoutingError,
    LoopbackWebSocketServer,
    UnifiedToolDispatcher,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
    WebSocketEventEmitter,
    open_user_connection,
)

CALLS_PER_USER = 5
DONE = "end-of-test"


def context(name: str) -> UserExecutionContext:
    return UserExecutionContext.from_request(f"user-{name}", f"thread-{name}", f"run-{name}")


async def read_until_done(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every event up to and including the end marker (events on a connection are ordered)."""
    events: list[dict[str, Any]] = []
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        events.append(event)
        if event["type"] == "agent_completed" and event["payload"]["agent_name"] == DONE:
            return events


async def dispatcher_for(name: str, server: LoopbackWebSocketServer) -> UnifiedToolDispatcher:
    async def lookup(index: int) -> str:
        await asyncio.sleep(0)  # let the users interleave
        return f"secret-of-{name}-{index}"

    return await UnifiedToolDispatcherFactory.create_request_scoped(
        context(name), [lookup], websocket_manager=server
    )


async def finish(dispatcher: UnifiedToolDispatcher) -> None:
    emitter = dispatcher.websocket_emitter
    assert emitter is not None
    await emitter.notify_agent_completed(DONE)


async def test_each_client_gets_all_its_events_and_no_other_users(
    loopback_server: LoopbackWebSocketServer,
) -> None:
    server = loopback_server
    async with (
        open_user_connection(server.url_for("user-alice"), "user-alice") as alice_1,
        open_user_connection(server.url_for("user-alice"), "user-alice") as alice_2,
        open_user_connection(server.url_for("user-bob"), "user-bob") as bob,
        open_user_connection(server.url_for("user-carol"), "user-carol") as carol,
    ):
        assert server.connection_count("user-alice") == 2
        alice = await dispatcher_for("alice", server)
        bob_d = await dispatcher_for("bob", server)
        carol_d = await dispatcher_for("carol", server)  # connected, but runs nothing
        dave = await dispatcher_for("dave", server)  # runs tools, but nobody is connected

        busy = [alice, bob_d, dave]
        results = await asyncio.gather(
            *(d.dispatch("lookup", index=i) for i in range(CALLS_PER_USER) for d in busy)
        )
        assert all(r.ok for r in results)
        assert sorted(r.value for r in results if r.user_id == "user-alice") == [
            f"secret-of-alice-{i}" for i in range(CALLS_PER_USER)
        ]
        for d in (alice, bob_d, carol_d, dave):
            await finish(d)

        received = {
            "alice_1": await read_until_done(alice_1),
            "alice_2": await read_until_done(alice_2),
            "bob": await read_until_done(bob),
            "carol": await read_until_done(carol),
        }

    expected_count = 2 * CALLS_PER_USER + 1  # executing + completed per call, then the marker
    for client, user, count in [
        ("alice_1", "alice", expected_count),
        ("alice_2", "alice", expected_count),
        ("bob", "bob", expected_count),
        ("carol", "carol", 1),
    ]:
        events = received[client]
        assert {e["user_id"] for e in events} == {f"user-{user}"}, client
        # Nothing missing: the emitter numbers its events, so a gap or a duplicate shows here.
        assert [e["sequence"] for e in events] == list(range(1, count + 1)), client
        text = json.dumps(events)
        for other in {"alice", "bob", "carol", "dave"} - {user}:
            assert other not in text, (client, other)
        secrets = sorted(e["payload"]["result"] for e in events if e["type"] == "tool_completed")
        assert secrets == sorted(f"secret-of-{user}-{i}" for i in range(count // 2)), client

    assert received["alice_1"] == received["alice_2"]
    # Dave's events went nowhere: they were dropped, not delivered to someone else.
    assert server.events_dropped == expected_count


async def test_connections_without_a_real_user_id_are_refused(
    loopback_server: LoopbackWebSocketServer,
) -> None:
    # Without a token nothing is accepted (401, was 400 when the user id was trusted); a
    # placeholder cannot even get a token.
    for query in ["", "?user_id=", "?user_id=None", "?user_id=null", "?user_id=a&user_id=b"]:
        with pytest.raises(InvalidStatus) as info:
            async with connect(loopback_server.url + query):
                pytest.fail(f"connection with {query!r} was accepted")
        assert info.value.response.status_code == 401, query
    for placeholder in ["", "None", "null", " a"]:
        with pytest.raises(ValueError, match="real user id"):
            loopback_server.issue_token(placeholder)
    assert loopback_server.connection_count("None") == 0


async def test_server_listens_on_loopback_only() -> None:
    with pytest.raises(TypeError):
        LoopbackWebSocketServer(host="0.0.0.0")  # type: ignore[call-arg]
    async with LoopbackWebSocketServer() as server:
        assert server.url == f"ws://127.0.0.1:{server.port}/"
        assert server.bound_addresses
        assert {host for host, _ in server.bound_addresses} == {"127.0.0.1"}
    assert server.bound_addresses == ()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url


async def test_server_refuses_events_for_the_wrong_user(
    loopback_server: LoopbackWebSocketServer,
) -> None:
    async with open_user_connection(loopback_server.url_for("user-bob"), "user-bob") as bob:
        event = WebSocketEventEmitter(context("alice"), loopback_server).build_event("x", {})
        with pytest.raises(EventRoutingError):
            await loopback_server.emit_to_user("user-bob", event)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(bob.recv(), timeout=0.1)


async def test_a_departed_client_does_not_break_dispatch(
    loopback_server: LoopbackWebSocketServer,
) -> None:
    async with open_user_connection(loopback_server.url_for("user-erin"), "user-erin"):
        await loopback_server.wait_for_connections("user-erin", 1)
    for _ in range(200):
        if loopback_server.connection_count("user-erin") == 0:
            break
        await asyncio.sleep(0.01)
    assert loopback_server.connection_count("user-erin") == 0

    d = await dispatcher_for("erin", loopback_server)
    result = await d.dispatch("lookup", index=0)
    assert result.ok
    assert d.metrics["event_failures"] == 0
    assert loopback_server.events_dropped == 2


async def test_closing_the_server_closes_client_connections() -> None:
    server = await LoopbackWebSocketServer().start()
    async with open_user_connection(server.url_for("user-frank"), "user-frank") as ws:
        await server.close()
        await server.close()  # idempotent
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=5)
