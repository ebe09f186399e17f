"""A real WebSocket event server, bound to loopback only.

:class:`LoopbackWebSocketServer` is a :class:`~migrator.reference.events.WebSocketManager`
that serves genuine WebSocket connections (the ``websockets`` library, asyncio API) on
``127.0.0.1``. A client connects to ``server.url`` with ``?user_id=<id>``; the server first
sends it ``{"type": "connection_established", "user_id": ..., "connection_id": ...}`` (so the
client knows it is registered and will receive every later event), then every event emitted for
that user, as JSON text, and nothing else. Connections without a usable ``user_id`` are refused
during the handshake with HTTP 400.

The host is not configurable on purpose: this server has no authentication (the user id in the
URL is trusted), which is acceptable only when nothing outside the machine can reach it.

Example::

    async with LoopbackWebSocketServer() as server:
        async with open_user_connection(server.url, "user-1") as ws:
            emitter = await WebSocketEventEmitterFactory.create_emitter(ctx, server)
            await emitter.notify_tool_executing("search", {"q": "x"})
            event = json.loads(await ws.recv())
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from migrator.reference.context import PLACEHOLDER_IDS
from migrator.reference.events import check_event_owner

__all__ = ["LOOPBACK_HOST", "LoopbackWebSocketServer", "open_user_connection"]

logger = logging.getLogger(__name__)

#: The only address the server listens on.
LOOPBACK_HOST = "127.0.0.1"

#: Type of the first message a client receives after connecting.
CONNECTION_ESTABLISHED = "connection_established"


def _user_id_from_path(path: str) -> str:
    """Return the ``user_id`` query parameter of ``path``; raise ValueError when unusable."""
    values = parse_qs(urlsplit(path).query).get("user_id", [])
    if len(values) != 1:
        raise ValueError("connect with exactly one ?user_id=<id> query parameter")
    user_id = values[0]
    if not user_id.strip() or user_id != user_id.strip():
        raise ValueError("user_id must be non-empty and without surrounding whitespace")
    if user_id.lower() in PLACEHOLDER_IDS:
        raise ValueError(f"user_id {user_id!r} is a placeholder, not a user id")
    return user_id


class LoopbackWebSocketServer:
    """Serves per-user event streams over real WebSocket connections on 127.0.0.1.

    Use it as an async context manager (or call :meth:`start` and :meth:`close`) from the event
    loop that will emit the events. ``port=0`` picks a free port; read it back from
    :attr:`port` or :attr:`url`.
    """

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._server: Server | None = None
        self._connections: dict[str, set[ServerConnection]] = {}
        # Woken whenever a connection registers, for wait_for_connections().
        self._registered = asyncio.Event()
        #: Events handed to at least one connection.
        self.events_delivered = 0
        #: Events for users that had no connection at the time (they are not kept).
        self.events_dropped = 0

    async def start(self) -> LoopbackWebSocketServer:
        """Start listening; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("LoopbackWebSocketServer is already started")
        self._server = await serve(
            self._handle,
            LOOPBACK_HOST,
            self._requested_port,
            process_request=self._process_request,
            # Events are small JSON documents; deflate would cost more latency than it saves.
            compression=None,
        )
        logger.debug("loopback event server listening on %s", self.url)
        return self

    async def close(self) -> None:
        """Close every connection and stop listening (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await server.wait_closed()
        self._connections.clear()

    async def __aenter__(self) -> LoopbackWebSocketServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._server is None:
            raise RuntimeError("LoopbackWebSocketServer is not started; use 'async with'")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def bound_addresses(self) -> tuple[tuple[str, int], ...]:
        """(host, port) of every listening socket: all on 127.0.0.1."""
        if self._server is None:
            return ()
        return tuple(
            (str(sock.getsockname()[0]), int(sock.getsockname()[1]))
            for sock in self._server.sockets
        )

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>/``: append ``?user_id=<id>`` to connect."""
        return f"ws://{LOOPBACK_HOST}:{self.port}/"

    def url_for(self, user_id: str) -> str:
        """The URL a client of ``user_id`` connects to."""
        return f"{self.url}?{urlencode({'user_id': user_id})}"

    def connection_count(self, user_id: str) -> int:
        """How many open connections ``user_id`` has."""
        return len(self._connections.get(user_id, ()))

    async def wait_for_connections(
        self, user_id: str, count: int = 1, timeout: float = 5.0
    ) -> None:
        """Wait until ``user_id`` has at least ``count`` registered connections."""

        async def wait() -> None:
            while self.connection_count(user_id) < count:
                self._registered.clear()
                await self._registered.wait()

        await asyncio.wait_for(wait(), timeout)

    async def emit_to_user(self, user_id: str, event: dict[str, Any]) -> None:
        """Send ``event`` as JSON to every connection of ``user_id`` and to no other."""
        check_event_owner(user_id, event)
        connections = tuple(self._connections.get(user_id, ()))
        if not connections:
            self.events_dropped += 1
            logger.debug("no connection for user %s; dropped a %s event", user_id, event["type"])
            return
        message = json.dumps(event)
        if len(connections) == 1:
            await self._send(user_id, connections[0], message)
        else:
            await asyncio.gather(*(self._send(user_id, c, message) for c in connections))
        self.events_delivered += 1

    async def _send(self, user_id: str, connection: ServerConnection, message: str) -> None:
        try:
            await connection.send(message)
        except ConnectionClosed:
            # A client that went away must not fail the tool call that produced the event.
            logger.debug("connection %s of user %s closed during send", connection.id, user_id)
            self._unregister(user_id, connection)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        # Refuse during the handshake, so a client without a user never gets an open socket.
        try:
            _user_id_from_path(request.path)
        except ValueError as exc:
            return connection.respond(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        user_id = _user_id_from_path(connection.request.path if connection.request else "")
        self._connections.setdefault(user_id, set()).add(connection)
        self._registered.set()
        try:
            await connection.send(
                json.dumps(
                    {
                        "type": CONNECTION_ESTABLISHED,
                        "user_id": user_id,
                        "connection_id": str(connection.id),
                    }
                )
            )
            # Clients have nothing to tell us; reading keeps the closing handshake working.
            async for _message in connection:
                pass
        except ConnectionClosed:
            pass
        finally:
            self._unregister(user_id, connection)

    def _unregister(self, user_id: str, connection: ServerConnection) -> None:
        connections = self._connections.get(user_id)
        if connections is None:
            return
        connections.discard(connection)
        if not connections:
            del self._connections[user_id]


@asynccontextmanager
async def open_user_connection(
    url: str, user_id: str, *, timeout: float = 5.0
) -> AsyncIterator[ClientConnection]:
    """Connect to a :class:`LoopbackWebSocketServer` as ``user_id``.

    Returns once the server has confirmed the registration (``connection_established``), so
    every event emitted afterwards reaches this connection. The confirmation is consumed.
    """
    separator = "&" if "?" in url else "?"
    async with connect(
        f"{url}{separator}{urlencode({'user_id': user_id})}", compression=None
    ) as connection:
        first = json.loads(await asyncio.wait_for(connection.recv(), timeout))
        if first.get("type") != CONNECTION_ESTABLISHED or first.get("user_id") != user_id:
            raise ConnectionError(f"unexpected first message from the event server: {first!r}")
        yield connection
