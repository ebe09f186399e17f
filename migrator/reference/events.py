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
from collections.abc import Iterable, Mapping
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


# Deeper structures are cut off: a tool result is shown to a person, not replicated.
_MAX_JSON_DEPTH = 20
# At most this many values (containers included) per event payload. Depth alone does not bound the
# work: a list holding itself twice (or a chain of lists that each hold the next one twice)
# doubles at every level, 2**20 items at the depth limit. The budget keeps a payload's cost
# linear in what is sent.
_MAX_JSON_ITEMS = 100_000
# A ``repr`` can be arbitrarily long (a huge bytes value, a chatty object): cap it.
_MAX_REPR_CHARS = 2_000
#: What stands in for a container already being converted (a reference cycle).
CYCLE_MARKER = "<cycle>"
#: What stands in for what is past the depth limit or the item budget.
TRUNCATED_MARKER = "<truncated>"


class _JsonSafe:
    """One conversion: the containers on the current path (for cycles) and the budget left."""

    __slots__ = ("_active", "_budget")

    def __init__(self) -> None:
        self._active: set[int] = set()
        self._budget = _MAX_JSON_ITEMS

    def convert(self, value: Any, depth: int) -> Any:
        if self._budget <= 0:
            return TRUNCATED_MARKER
        self._budget -= 1
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, datetime):
            return value.isoformat()
        if depth >= _MAX_JSON_DEPTH:
            return TRUNCATED_MARKER
        marker = id(value)
        if marker in self._active:
            return CYCLE_MARKER
        self._active.add(marker)
        try:
            return self._convert_container(value, depth + 1)
        finally:
            self._active.discard(marker)

    def _convert_container(self, value: Any, depth: int) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if self._budget <= 0:
                    out["..."] = TRUNCATED_MARKER
                    break
                out[str(key)] = self.convert(item, depth)
            return out
        if isinstance(value, (list, tuple, set, frozenset, deque)):
            if isinstance(value, (set, frozenset)):
                items: Iterable[Any] = sorted(value, key=repr)
            else:
                items = value
            converted: list[Any] = []
            for item in items:
                if self._budget <= 0:
                    converted.append(TRUNCATED_MARKER)
                    break
                converted.append(self.convert(item, depth))
            return converted
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._convert_container(
                {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr},
                depth,
            )
        text = repr(value)
        if len(text) > _MAX_REPR_CHARS:
            text = text[:_MAX_REPR_CHARS] + "...<truncated>"
        return text


def to_json_safe(value: Any) -> Any:
    """Turn ``value`` into something ``json.dumps`` accepts, without ever raising.

    Tool parameters and results are arbitrary Python objects; events must still be sendable.
    Containers are converted recursively, dataclasses become dicts, and anything else becomes
    its ``repr`` (at most 2,000 characters). A container met again inside itself becomes
    ``"<cycle>"``; past 20 levels, or past 100,000 values in all, ``"<truncated>"``. So any
    value, even a self-referential one, converts in time linear in what is sent.
    """
    return _JsonSafe().convert(value, 0)


class WebSocketEventEmitter:
    """Sends the events of one request to the connections of that request's user."""

    __slots__ = (
        "_context",
        "_correlation_id",
        "_manager",
        "_request_id",
        "_run_id",
        "_sequence",
        "_thread_id",
        "_user_id",
        "events_sent",
    )

    def __init__(self, user_context: UserExecutionContext, websocket_manager: WebSocketManager):
        context = validate_user_context(user_context)
        if not callable(getattr(websocket_manager, "emit_to_user", None)):
            raise TypeError(
                "websocket_manager must have an async emit_to_user(user_id, event) method, got"
                f" {type(websocket_manager).__name__}"
            )
        self._context = context
        self._manager = websocket_manager
        # Where events go, and what they say about their origin, is fixed here, once: the
        # values are copied out of the context rather than read from it at every emit, so
        # nothing done to a context object later (object.__setattr__, a slot written through
        # its descriptor) can redirect this request's events to another user.
        self._user_id: str = str(context.user_id)
        self._thread_id: str = str(context.thread_id)
        self._run_id: str = str(context.run_id)
        self._request_id: str = str(context.request_id)
        self._correlation_id = context.get_correlation_id()
        self._sequence = itertools.count(1)
        self.events_sent = 0

    @property
    def user_context(self) -> UserExecutionContext:
        """The context this emitter was created for (read-only)."""
        return self._context

    @property
    def user_id(self) -> str:
        """The user every event of this emitter goes to, fixed at creation."""
        return self._user_id

    @property
    def run_id(self) -> str:
        """The run this emitter's events belong to, fixed at creation."""
        return self._run_id

    @property
    def websocket_manager(self) -> WebSocketManager:
        """The manager events are handed to (read-only)."""
        return self._manager

    def __repr__(self) -> str:
        return f"WebSocketEventEmitter({self._correlation_id!r}, events_sent={self.events_sent})"

    def build_event(self, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Stamp ``payload`` with this emitter's ids: the dict that goes on the wire."""
        return {
            "type": event_type,
            "user_id": self._user_id,
            "thread_id": self._thread_id,
            "run_id": self._run_id,
            "request_id": self._request_id,
            "correlation_id": self._correlation_id,
            "sequence": next(self._sequence),
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "payload": to_json_safe(payload),
        }

    async def emit(self, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send one event to this context's user and return it."""
        event = self.build_event(event_type, payload)
        await self._manager.emit_to_user(self._user_id, event)
        self.events_sent += 1
        return event

    def _check_run_id(self, run_id: str | None) -> None:
        # The design note's call sites pass run_id explicitly; one that differs from the bound
        # context would mean an event about another run, so it is refused.
        if run_id is not None and run_id != self.run_id:
            raise EventRoutingError(
                f"run_id {run_id!r} is not the run of this emitter's context"
                f" ({self.run_id!r}); create an emitter for that context instead"
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
