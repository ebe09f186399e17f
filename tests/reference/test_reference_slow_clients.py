"""A client that never reads must not block its user's dispatch: it is dropped, with a reason."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest
from websockets.exceptions import ConnectionClosed

from migrator.reference import (
    CLOSE_SLOW_CLIENT,
    LoopbackWebSocketServer,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
    open_user_connection,
)

USER = "user-slow"
# Events larger than the socket's write buffer limit always go through the connection's
# queue; small ones are written at once while the buffer has room. Both paths are tested,
# each with far more bytes than the socket buffers hold (about 19 MB and 12 MB).
BIG = (64 * 1024, 150)
SMALL = (2 * 1024, 3000)
# Only a guard against hanging forever (the behaviour this file tests against), not a timing.
HANG_GUARD_S = 60


@asynccontextmanager
async def never_reading_client(server: LoopbackWebSocketServer) -> AsyncIterator[socket.socket]:
    """A real WebSocket client that completes the handshake and then never reads again."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        query = urlencode({"token": server.issue_token(USER)})
        request = (
            f"GET /?{query} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = await loop.sock_recv(sock, 1)
            assert chunk, "the server closed the connection during the handshake"
            response += chunk
        assert response.startswith(b"HTTP/1.1 101"), response
        yield sock
    finally:
        sock.close()


async def big_result(index: int, size: int = BIG[0]) -> str:
    return f"{index}:" + "x" * size


QUEUE_FULL = ({"max_queued_events": 8, "send_timeout": 30.0}, "events waiting to be sent")
SEND_TIMEOUT = ({"max_queued_events": 100_000, "send_timeout": 2.0}, "a send waited more than")
# How many events the reader may lag behind (well under QUEUE_FULL's limit of 8).
READER_SLACK = 4


@pytest.mark.parametrize(
    ("limits", "reason", "shape"),
    [(*QUEUE_FULL, BIG), (*SEND_TIMEOUT, BIG), (*QUEUE_FULL, SMALL), (*SEND_TIMEOUT, SMALL)],
    ids=["queue-full", "send-timeout", "queue-full-small-events", "send-timeout-small-events"],
)
async def test_a_client_that_never_reads_is_dropped_and_does_not_block_dispatch(
    limits: dict[str, float], reason: str, shape: tuple[int, int]
) -> None:
    size, calls = shape
    async with LoopbackWebSocketServer(**limits) as server:  # type: ignore[arg-type]
        async with (
            never_reading_client(server),
            open_user_connection(server.url_for(USER), USER) as reader,
        ):
            await server.wait_for_connections(USER, 2)
            received: list[dict[str, object]] = []

            async def read_all() -> None:
                while len(received) < 2 * calls:
                    received.append(json.loads(await reader.recv()))

            reading = asyncio.create_task(read_all())
            ctx = UserExecutionContext.from_request(USER, "thread", "run")
            async with UnifiedToolDispatcherFactory.create_scoped_context(
                ctx, tools=[big_result], websocket_manager=server
            ) as dispatcher:

                async def run_all() -> None:
                    for index in range(calls):
                        result = await dispatcher.dispatch("big_result", index=index, size=size)
                        assert result.ok
                        # The well-behaved reader shares this event loop: wait until it is at
                        # most a few events behind, so only the never-reading client can fill
                        # a queue or stall a send, however busy the machine.
                        while len(received) < 2 * (index + 1) - READER_SLACK:
                            await asyncio.sleep(0)

                await asyncio.wait_for(run_all(), HANG_GUARD_S)
                assert dispatcher.metrics["event_failures"] == 0

            # The slow connection is dropped (at once when its queue fills, or once a send
            # has waited send_timeout); the reader keeps every event, in order.
            async def until_dropped() -> None:
                while not server.dropped_connections:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(until_dropped(), HANG_GUARD_S)
            await asyncio.wait_for(reading, HANG_GUARD_S)
            assert server.connection_count(USER) == 1  # the reader only

        [dropped] = server.dropped_connections
        assert dropped.user_id == USER and reason in dropped.reason
        assert "too slow" in dropped.reason
        assert [e["sequence"] for e in received] == list(range(1, 2 * calls + 1))
        assert {e["user_id"] for e in received} == {USER}


async def test_the_drop_reason_reaches_a_client_that_reads_again() -> None:
    async with (
        LoopbackWebSocketServer(max_queued_events=2, send_timeout=5.0) as server,
        open_user_connection(server.url_for(USER), USER) as ws,
    ):
        ctx = UserExecutionContext.from_request(USER, "thread", "run")
        async with UnifiedToolDispatcherFactory.create_scoped_context(
            ctx, tools=[big_result], websocket_manager=server
        ) as dispatcher:
            # Emitting never waits for the socket: the queue of 2 overflows at once.
            for index in range(5):
                await dispatcher.dispatch("big_result", index=index)
        assert server.dropped_connections
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(ws.recv(), HANG_GUARD_S)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == CLOSE_SLOW_CLIENT
        assert "too slow" in info.value.rcvd.reason
