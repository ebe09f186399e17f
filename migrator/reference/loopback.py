"""A real WebSocket event server, bound to loopback only, that checks who is connected.

:class:`LoopbackWebSocketServer` is a :class:`~migrator.reference.events.WebSocketManager`
that serves genuine WebSocket connections (the ``websockets`` library, asyncio API) on
``127.0.0.1``. Nothing in the URL is trusted:

- **Authentication.** A client presents a signed connection token (``?token=...`` or an
  ``Authorization: Bearer ...`` header) that the application's server side issued for its
  authenticated user (:meth:`LoopbackWebSocketServer.issue_token`, HMAC-SHA256 under a server
  secret, with an expiry, good for one connection). The connection receives the events of the
  token's user and nobody else's. ``?user_id=alice`` alone gets HTTP 401.
- **Origin.** A browser page can open a WebSocket to any address, carrying its origin in the
  ``Origin`` header; a request whose origin is not in ``allowed_origins`` gets HTTP 403.
  (Clients that are not browsers send no ``Origin``; ``allow_missing_origin`` decides.)
- **Slow clients.** Each connection has a bounded send queue served by its own writer task, so
  :meth:`emit_to_user` never waits for a socket. A connection whose queue is full, or whose
  pending send takes longer than ``send_timeout``, is dropped (closed with code 1008 and a
  reason saying which), and its user's other connections and dispatches go on.

After the handshake the server sends ``{"type": "connection_established", "user_id": ...,
"connection_id": ...}`` (so the client knows it is registered and will receive every later
event), then every event emitted for that user, as JSON text.

Example::

    async with LoopbackWebSocketServer(allowed_origins=["https://app.example"]) as server:
        async with open_user_connection(server.url_for("user-1"), "user-1") as ws:
            emitter = await WebSocketEventEmitterFactory.create_emitter(ctx, server)
            await emitter.notify_tool_executing("search", {"q": "x"})
            event = json.loads(await ws.recv())
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Origin

from migrator.reference.auth import AuthenticationError, ConnectionTokenIssuer
from migrator.reference.events import check_event_owner

__all__ = [
    "CLOSE_SLOW_CLIENT",
    "LOOPBACK_HOST",
    "DroppedConnection",
    "LoopbackWebSocketServer",
    "open_user_connection",
]

logger = logging.getLogger(__name__)

#: The only address the server listens on.
LOOPBACK_HOST = "127.0.0.1"

#: Type of the first message a client receives after connecting.
CONNECTION_ESTABLISHED = "connection_established"

#: Close code sent to a client dropped for being too slow (1008: policy violation).
CLOSE_SLOW_CLIENT = 1008


@dataclass(frozen=True)
class DroppedConnection:
    """A connection the server closed because its client did not keep up."""

    user_id: str
    connection_id: str
    reason: str


# Bytes a WebSocket frame adds to its payload, at most (header and length).
_FRAME_OVERHEAD = 14


class _Client:
    """One registered connection: its user, its bounded send queue and its writer task."""

    __slots__ = (
        "buffer_limit",
        "connection",
        "dropped",
        "queue",
        "sending",
        "user_id",
        "writer",
    )

    def __init__(self, connection: ServerConnection, user_id: str, limit: int) -> None:
        self.connection = connection
        self.user_id = user_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=limit)
        self.writer: asyncio.Task[None] | None = None
        self.dropped = False
        # True while the writer holds a message it took from the queue.
        self.sending = False
        # Above this many buffered bytes the transport pauses writing, and a send would wait.
        self.buffer_limit: int = connection.transport.get_write_buffer_limits()[1]

    def can_send_now(self, message: str) -> bool:
        """True when ``message`` can be sent without waiting and without overtaking another.

        Nothing queued, nothing being sent, and the socket's buffer has room for it: then a
        send writes to the transport and returns without suspending (it would wait only for
        a full buffer). ``message`` is ASCII JSON, so its length is its size in bytes.
        """
        return (
            not self.sending
            and self.queue.empty()
            # A closing connection would make send() wait for the close to finish.
            and self.connection.state is State.OPEN
            and self.connection.transport.get_write_buffer_size() + len(message) + _FRAME_OVERHEAD
            <= self.buffer_limit
        )


def _single_query_value(path: str, name: str) -> str | None:
    values = parse_qs(urlsplit(path).query, keep_blank_values=True).get(name, [])
    if len(values) > 1:
        raise AuthenticationError(f"give ?{name}= at most once")
    return values[0] if values else None


class LoopbackWebSocketServer:
    """Serves per-user event streams over authenticated WebSocket connections on 127.0.0.1.

    Use it as an async context manager (or call :meth:`start` and :meth:`close`) from the event
    loop that will emit the events. ``port=0`` picks a free port; read it back from
    :attr:`port` or :attr:`url`.

    Args:
        port: TCP port on 127.0.0.1 (0: any free one).
        tokens: the issuer whose tokens are accepted; a new one with a random secret by default
            (then :meth:`issue_token` is the only source of valid tokens).
        allowed_origins: ``Origin`` values accepted from browsers, e.g.
            ``"https://app.example"`` (scheme, host and port, compared exactly).
        allow_missing_origin: accept requests without an ``Origin`` header (clients that are
            not browsers). Browsers always send one.
        max_queued_events: events queued for one connection before it is dropped as too slow.
        send_timeout: seconds one send may wait for a client to read before it is dropped.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        tokens: ConnectionTokenIssuer | None = None,
        allowed_origins: Iterable[str] = (),
        allow_missing_origin: bool = True,
        max_queued_events: int = 1024,
        send_timeout: float = 5.0,
    ) -> None:
        if isinstance(allowed_origins, str):
            raise TypeError("allowed_origins must be a collection of origins, not one string")
        if max_queued_events < 1:
            raise ValueError(f"max_queued_events must be at least 1, got {max_queued_events}")
        if not send_timeout > 0:
            raise ValueError(f"send_timeout must be positive, got {send_timeout!r}")
        self._requested_port = port
        self.tokens = tokens if tokens is not None else ConnectionTokenIssuer()
        self._allowed_origins = frozenset(origin.rstrip("/") for origin in allowed_origins)
        self._allow_missing_origin = allow_missing_origin
        self._max_queued = max_queued_events
        self._send_timeout = float(send_timeout)
        self._server: Server | None = None
        self._connections: dict[str, set[_Client]] = {}
        # Users proven during the handshake, until the connection handler picks them up (weak:
        # a handshake that fails after the check must not leave an entry behind).
        self._authenticated: weakref.WeakKeyDictionary[ServerConnection, str] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: set[asyncio.Task[None]] = set()
        # Woken whenever a connection registers, for wait_for_connections().
        self._registered = asyncio.Event()
        #: Events handed to at least one connection (sent, or queued to be sent).
        self.events_delivered = 0
        #: Events for users that had no connection at the time (they are not kept).
        self.events_dropped = 0
        #: Connections closed because their client did not keep up, oldest first.
        self.dropped_connections: list[DroppedConnection] = []

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
            # A dropped client that does not answer the closing handshake is cut off this soon.
            close_timeout=self._send_timeout,
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
        for task in tuple(self._closers):
            task.cancel()
        self._connections.clear()
        self._authenticated.clear()

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
        """``ws://127.0.0.1:<port>/``: a client adds ``?token=<token>`` to connect."""
        return f"ws://{LOOPBACK_HOST}:{self.port}/"

    def issue_token(self, user_id: str, *, ttl_seconds: float | None = None) -> str:
        """A token for one connection of ``user_id``: call it where that user is logged in."""
        return self.tokens.issue(user_id, ttl_seconds=ttl_seconds)

    def url_for(self, user_id: str) -> str:
        """The URL one client of ``user_id`` connects to (with a fresh token)."""
        return f"{self.url}?{urlencode({'token': self.issue_token(user_id)})}"

    def connection_count(self, user_id: str) -> int:
        """How many open, registered connections ``user_id`` has."""
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
        """Send ``event`` as JSON to every connection of ``user_id`` and to no other.

        Never waits for a socket: the event is written at once to a connection with room in
        its buffer and nothing queued, else queued for that connection's writer. A connection
        that cannot take it (its queue is full) is dropped, and the others still get it.
        """
        check_event_owner(user_id, event)
        clients = self._connections.get(user_id)
        if not clients:
            self.events_dropped += 1
            logger.debug("no connection for user %s; dropped a %s event", user_id, event["type"])
            return
        message = json.dumps(event)  # ASCII: ensure_ascii is on
        queued = False
        for client in tuple(clients):
            if client.can_send_now(message):
                # The common case, with no task switch: the bytes go straight to the socket's
                # buffer and this await does not suspend.
                try:
                    await client.connection.send(message)
                    queued = True
                except ConnectionClosed:
                    self._unregister(client)
                continue
            try:
                client.queue.put_nowait(message)
                queued = True
            except asyncio.QueueFull:
                self._drop(
                    client,
                    f"too slow: {self._max_queued} events waiting to be sent;"
                    " read events as they come, then reconnect with a new token",
                )
        if queued:
            self.events_delivered += 1
        else:
            self.events_dropped += 1

    # -- handshake ------------------------------------------------------------------------

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str) -> Response:
        logger.info("refused an event connection from %s: %s", connection.remote_address, reason)
        return connection.respond(status, f"{reason}\n")

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        # Refuse during the handshake, so an unauthenticated client never gets an open socket.
        origin = request.headers.get("Origin")
        if origin is None:
            if not self._allow_missing_origin:
                return self._refuse(
                    connection, HTTPStatus.FORBIDDEN, "an Origin header is required"
                )
        elif origin.rstrip("/") not in self._allowed_origins:
            return self._refuse(
                connection,
                HTTPStatus.FORBIDDEN,
                f"origin {origin[:200]!r} is not allowed; add it to allowed_origins",
            )
        try:
            token = self._token_of(request)
            verified = self.tokens.verify(token, consume=True)
            claimed = _single_query_value(request.path, "user_id")
            if claimed is not None and claimed != verified.user_id:
                raise AuthenticationError("the token was issued for another user than ?user_id=")
        except AuthenticationError as exc:
            return self._refuse(connection, HTTPStatus.UNAUTHORIZED, str(exc))
        self._authenticated[connection] = verified.user_id
        return None

    @staticmethod
    def _token_of(request: Request) -> str:
        header = request.headers.get("Authorization")
        query = _single_query_value(request.path, "token")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError("Authorization must be 'Bearer <connection token>'")
            if query is not None:
                raise AuthenticationError("give the token once: header or ?token=, not both")
            return value.strip()
        if query is None:
            raise AuthenticationError(
                "connect with ?token=<connection token issued by the server for your user>;"
                " a user id alone is not accepted"
            )
        return query

    # -- connections ----------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        user_id = self._authenticated.pop(connection, None)
        if user_id is None:  # cannot happen: _process_request ran first; refuse regardless
            await connection.close(1008, "not authenticated")
            return
        client = _Client(connection, user_id, self._max_queued)
        # Registered before the confirmation is queued, and the queue is FIFO: a client that
        # has read the confirmation receives every event emitted after it was sent.
        client.queue.put_nowait(
            json.dumps(
                {
                    "type": CONNECTION_ESTABLISHED,
                    "user_id": user_id,
                    "connection_id": str(connection.id),
                }
            )
        )
        self._connections.setdefault(user_id, set()).add(client)
        self._registered.set()
        client.writer = asyncio.create_task(self._write(client))
        try:
            # Clients have nothing to tell us; reading keeps the closing handshake working.
            async for _message in connection:
                pass
        except ConnectionClosed:
            pass
        finally:
            self._unregister(client)
            client.writer.cancel()

    async def _write(self, client: _Client) -> None:
        """Send ``client``'s queued messages in order; drop the client if a send stalls."""
        loop = asyncio.get_running_loop()
        connection = client.connection
        while True:
            message = await client.queue.get()
            client.sending = True
            # A timer rather than asyncio.wait_for: no extra task per event.
            timer = loop.call_later(self._send_timeout, self._send_timed_out, client)
            try:
                await connection.send(message)
            except ConnectionClosed:
                self._unregister(client)
                return
            finally:
                timer.cancel()
                client.sending = False

    def _send_timed_out(self, client: _Client) -> None:
        self._drop(
            client,
            f"too slow: a send waited more than {self._send_timeout:g} s for the client to read",
        )

    def _drop(self, client: _Client, reason: str) -> None:
        """Stop serving ``client`` at once; close its connection in the background."""
        if client.dropped:
            return
        client.dropped = True
        self._unregister(client)
        if client.writer is not None:
            client.writer.cancel()
        self.dropped_connections.append(
            DroppedConnection(client.user_id, str(client.connection.id), reason)
        )
        logger.warning("dropped a connection of user %s: %s", client.user_id, reason)
        closer = asyncio.get_running_loop().create_task(self._close(client, reason))
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)

    @staticmethod
    async def _close(client: _Client, reason: str) -> None:
        # The close frame carries the reason (at most 123 bytes); a client that reads nothing
        # never answers, and the connection is aborted after close_timeout.
        await client.connection.close(
            CLOSE_SLOW_CLIENT, reason.encode()[:123].decode(errors="ignore")
        )

    def _unregister(self, client: _Client) -> None:
        clients = self._connections.get(client.user_id)
        if clients is None:
            return
        clients.discard(client)
        if not clients:
            del self._connections[client.user_id]


@asynccontextmanager
async def open_user_connection(
    url: str,
    user_id: str,
    *,
    token: str | None = None,
    origin: str | None = None,
    timeout: float = 5.0,
) -> AsyncIterator[ClientConnection]:
    """Connect to a :class:`LoopbackWebSocketServer` as ``user_id``.

    ``url`` is :meth:`LoopbackWebSocketServer.url_for` (which carries a token), or the plain
    :attr:`~LoopbackWebSocketServer.url` with ``token=``. Returns once the server has confirmed
    the registration (``connection_established``) for ``user_id``, so every event emitted
    afterwards reaches this connection. The confirmation is consumed. A refused handshake
    raises ``websockets.exceptions.InvalidStatus`` (401: no or bad token; 403: origin).
    """
    query = {"user_id": user_id}
    if token is not None:
        query["token"] = token
    separator = "&" if "?" in url else "?"
    async with connect(
        f"{url}{separator}{urlencode(query)}",
        compression=None,
        origin=Origin(origin) if origin is not None else None,
    ) as connection:
        first = json.loads(await asyncio.wait_for(connection.recv(), timeout))
        if first.get("type") != CONNECTION_ESTABLISHED or first.get("user_id") != user_id:
            raise ConnectionError(f"unexpected first message from the event server: {first!r}")
        yield connection
