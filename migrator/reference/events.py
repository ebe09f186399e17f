"""Per-user event emission.

A :class:`WebSocketEventEmitter` is bound to one :class:`UserExecutionContext` and one
:class:`WebSocketManager`; every event it sends is stamped with that context's ids and handed to
``manager.emit_to_user(context.user_id, event)``. A manager delivers an event only to the
connections of the user it names, and refuses an event whose ``user_id`` field disagrees with the
user it is asked to deliver to (:class:`EventRoutingError`), so a mix-up fails loudly instead of
leaking one user's data to another.

Two managers ship here: :class:`InMemoryWebSocketManager` (queues and history, for tests and
embedding) and, in :mod:`migrator.reference.loopback`, a server of real WebSocket connections.

Every event is a JSON-ready dict::

    {"type": "tool_completed", "user_id": ..., "thread_id": ..., "run_id": ..., "request_id": ...,
     "correlation_id": ..., "sequence": 3, "timestamp": "2025-01-01T00:00:00.000000+00:00",
     "payload": {"tool_name": ..., "result": ..., "duration_ms": ...}}

``sequence`` counts the events of one emitter from 1, so a client can spot a gap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from migrator.reference.context import UserExecutionContext, validate_user_context

__all__ = [
    "EVENT_TYPES",
    "EventRoutingError",
    "InMemoryWebSocketManager",
    "WebSocketEventEmitter",
    "WebSocketEventEmitterFactory",
    "WebSocketManager",
    "check_event_owner",
    "to_json_safe",
]

logger = logging.getLogger(__name__)

#: The event types an emitter sends.
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "tool_executing",
        "tool_completed",
        "tool_error",
        "agent_started",
        "agent_completed",
        "agent_error",
    }
)

# Deeper structures are cut off: a tool result is shown to a person, not replicated.
_MAX_JSON_DEPTH = 20


class EventRoutingError(ValueError):
    """An event was about to be delivered to a user it does not belong to."""


@runtime_checkable
class WebSocketManager(Protocol):
    """Delivers events to the live connections of one user."""

    async def emit_to_user(self, user_id: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every connection of ``user_id``, and to no one else."""
        ...


def check_event_owner(user_id: str, event: Mapping[str, Any]) -> None:
    """Refuse to route ``event`` to ``user_id`` unless the event says it belongs to that user.

    Managers call this before delivering anything: an event without a ``user_id`` cannot be
    proven to be the recipient's, so it is refused too.
    """
    if not isinstance(user_id, str) or not user_id.strip():
        raise EventRoutingError(f"emit_to_user needs a user id, got {user_id!r}")
    owner = event.get("user_id")
    if owner != user_id:
        raise EventRoutingError(
            f"refusing to deliver a {event.get('type', 'untyped')!r} event of user {owner!r}"
            f" to user {user_id!r}; events go only to the user named in their user_id field"
        )


def to_json_safe(value: Any, _depth: int = 0) -> Any:
    """Turn ``value`` into something ``json.dumps`` accepts, without ever raising.

    Tool parameters and results are arbitrary Python objects; events must still be sendable.
    Containers are converted recursively, dataclasses become dicts, and anything else becomes
    its ``repr``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth >= _MAX_JSON_DEPTH:
        return "<truncated>"
    if isinstance(value, Mapping):
        return {str(key): to_json_safe(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, deque)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_json_safe(item, _depth + 1) for item in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json_safe(getattr(value, f.name), _depth + 1)
            for f in dataclasses.fields(value)
            if f.repr
        }
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


class WebSocketEventEmitter:
    """Sends the events of one request to the connections of that request's user."""

    def __init__(self, user_context: UserExecutionContext, websocket_manager: WebSocketManager):
        self.user_context = validate_user_context(user_context)
        if not callable(getattr(websocket_manager, "emit_to_user", None)):
            raise TypeError(
                "websocket_manager must have an async emit_to_user(user_id, event) method, got"
                f" {type(websocket_manager).__name__}"
            )
        self.websocket_manager = websocket_manager
        self._sequence = itertools.count(1)
        self.events_sent = 0

    def __repr__(self) -> str:
        return (
            f"WebSocketEventEmitter({self.user_context.get_correlation_id()!r},"
            f" events_sent={self.events_sent})"
        )

    def build_event(self, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Stamp ``payload`` with this emitter's context: the dict that goes on the wire."""
        ctx = self.user_context
        return {
            "type": event_type,
            "user_id": ctx.user_id,
            "thread_id": ctx.thread_id,
            "run_id": ctx.run_id,
            "request_id": ctx.request_id,
            "correlation_id": ctx.get_correlation_id(),
            "sequence": next(self._sequence),
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "payload": to_json_safe(payload),
        }

    async def emit(self, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send one event to this context's user and return it."""
        event = self.build_event(event_type, payload)
        await self.websocket_manager.emit_to_user(self.user_context.user_id, event)
        self.events_sent += 1
        return event

    def _check_run_id(self, run_id: str | None) -> None:
        # The design note's call sites pass run_id explicitly; one that differs from the bound
        # context would mean an event about another run, so it is refused.
        if run_id is not None and run_id != self.user_context.run_id:
            raise EventRoutingError(
                f"run_id {run_id!r} is not the run of this emitter's context"
                f" ({self.user_context.run_id!r}); create an emitter for that context instead"
            )

    async def notify_tool_executing(
        self, tool_name: str, parameters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A tool is about to run with ``parameters``."""
        return await self.emit(
            "tool_executing", {"tool_name": tool_name, "parameters": dict(parameters or {})}
        )

    async def notify_tool_completed(
        self, tool_name: str, result: Any = None, duration_ms: float | None = None
    ) -> dict[str, Any]:
        """A tool returned ``result``."""
        return await self.emit(
            "tool_completed",
            {"tool_name": tool_name, "result": result, "duration_ms": duration_ms},
        )

    async def notify_tool_error(
        self, tool_name: str, error: str, duration_ms: float | None = None
    ) -> dict[str, Any]:
        """A tool failed (or could not be run) with ``error``."""
        return await self.emit(
            "tool_error", {"tool_name": tool_name, "error": error, "duration_ms": duration_ms}
        )

    async def notify_agent_started(
        self,
        agent_name: str,
        context: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """An agent (or an admin operation) started."""
        self._check_run_id(run_id)
        return await self.emit(
            "agent_started", {"agent_name": agent_name, "context": dict(context or {})}
        )

    async def notify_agent_completed(
        self,
        agent_name: str,
        result: Any = None,
        *,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """An agent finished with ``result``."""
        self._check_run_id(run_id)
        return await self.emit("agent_completed", {"agent_name": agent_name, "result": result})

    async def notify_agent_error(
        self,
        agent_name: str,
        error: str,
        error_context: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """An agent failed with ``error``."""
        self._check_run_id(run_id)
        return await self.emit(
            "agent_error",
            {"agent_name": agent_name, "error": error, "error_context": dict(error_context or {})},
        )


class WebSocketEventEmitterFactory:
    """Creates one emitter per request."""

    @staticmethod
    async def create_emitter(
        user_context: UserExecutionContext, websocket_manager: WebSocketManager
    ) -> WebSocketEventEmitter:
        """Bind a new emitter to ``user_context`` and ``websocket_manager``.

        Async so that a manager needing set-up per emitter can be supported without changing
        call sites.
        """
        return WebSocketEventEmitter(user_context, websocket_manager)


class InMemoryWebSocketManager:
    """A manager without sockets: per-user connection queues plus a per-user history.

    ``connect(user_id)`` returns a queue that receives, from then on, every event of that user
    (one queue per simulated connection). ``events_for(user_id)`` returns the history of events
    delivered for that user, whether or not anyone was connected. Each recipient gets its own
    copy of the event, decoded from the JSON that would go on the wire, so this manager refuses
    exactly what a real connection could not carry, and recipients cannot alter each other's
    events.
    """

    def __init__(self, *, history_limit: int | None = 10_000) -> None:
        self._queues: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._history: dict[str, deque[dict[str, Any]]] = {}
        self._history_limit = history_limit

    def connect(self, user_id: str) -> asyncio.Queue[dict[str, Any]]:
        """Open a simulated connection for ``user_id``."""
        if not isinstance(user_id, str) or not user_id.strip():
            raise EventRoutingError(f"connect needs a user id, got {user_id!r}")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.setdefault(user_id, []).append(queue)
        return queue

    def disconnect(self, user_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Close a simulated connection; unknown ones are ignored."""
        queues = self._queues.get(user_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._queues.pop(user_id, None)

    def connection_count(self, user_id: str) -> int:
        """How many simulated connections ``user_id`` has."""
        return len(self._queues.get(user_id, ()))

    async def emit_to_user(self, user_id: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to ``user_id``'s queues and history only."""
        check_event_owner(user_id, event)
        wire = json.dumps(event)
        history = self._history.get(user_id)
        if history is None:
            history = self._history[user_id] = deque(maxlen=self._history_limit)
        history.append(json.loads(wire))
        for queue in self._queues.get(user_id, ()):
            queue.put_nowait(json.loads(wire))

    def events_for(self, user_id: str) -> list[dict[str, Any]]:
        """The events delivered for ``user_id``, oldest first (a copy)."""
        return [json.loads(json.dumps(event)) for event in self._history.get(user_id, ())]

    @property
    def user_ids(self) -> frozenset[str]:
        """Users that received at least one event."""
        return frozenset(self._history)

    def clear(self) -> None:
        """Forget the history (connections stay open)."""
        self._history.clear()
