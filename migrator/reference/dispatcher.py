"""The request-scoped tool dispatcher, its factory, and the deprecated global path.

A :class:`UnifiedToolDispatcher` belongs to one request: it holds that request's
:class:`UserExecutionContext`, its own registry of tools, and (optionally) an event emitter bound
to the same context. Nothing is shared between two dispatchers, so one user's tools, results and
events cannot reach another user. Create one per request through the factory::

    async with UnifiedToolDispatcherFactory.create_scoped_context(ctx, tools=[search]) as d:
        result = await d.dispatch("search", query="cats")

The constructor refuses to run without a context: the *only* way to get the old global mode is
:meth:`UnifiedToolDispatcherFactory.create_legacy_global`, which warns, and returns one
process-wide instance whose tools every caller sees. That sharing is the bug the migration
removes; it is kept, faithfully, so that code not yet migrated still runs and so the leak can be
demonstrated.

Tools are plain callables or coroutine functions taking keyword arguments. Plain callables run
inline on the event loop (they are expected to be quick; wrap blocking work in
``asyncio.to_thread`` inside a coroutine tool). A tool's exception becomes a ``ToolResult`` with
``status="error"``; an unknown tool or a refused permission raises, because those are mistakes
of the caller rather than outcomes of the tool.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from migrator.reference.context import (
    InvalidContextError,
    UserExecutionContext,
    validate_user_context,
)
from migrator.reference.events import (
    WebSocketEventEmitter,
    WebSocketEventEmitterFactory,
    WebSocketManager,
)

__all__ = [
    "GLOBAL_SCOPE_ID",
    "DispatcherClosedError",
    "ToolDispatcher",
    "ToolFunction",
    "ToolNotFoundError",
    "ToolPermissionService",
    "ToolResult",
    "ToolsArgument",
    "UnifiedToolDispatcher",
    "UnifiedToolDispatcherFactory",
    "reset_legacy_global",
]

logger = logging.getLogger(__name__)

#: A tool: called with keyword arguments; may return an awaitable (coroutine functions do).
ToolFunction = Callable[..., Any]
#: What ``tools=`` accepts: callables named by ``__name__``, or a mapping of name to callable.
ToolsArgument = Iterable[ToolFunction] | Mapping[str, ToolFunction] | None

#: ``ToolResult.user_id`` / ``request_id`` of a call made through the legacy global dispatcher,
#: which knows no user: exactly the problem.
GLOBAL_SCOPE_ID = "<global>"

_D = TypeVar("_D", bound="UnifiedToolDispatcher")


class DispatcherClosedError(RuntimeError):
    """The dispatcher was cleaned up; it belonged to a request that is over."""


class ToolNotFoundError(KeyError):
    """No tool of that name is registered on this dispatcher."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


@runtime_checkable
class ToolPermissionService(Protocol):
    """Decides whether a context may run a tool (``permission_service=`` of the dispatcher)."""

    def is_tool_allowed(self, user_context: UserExecutionContext, tool_name: str) -> bool:
        """True if ``user_context`` may run ``tool_name``."""
        ...


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one ``dispatch``: a value or an error, with timing and ownership."""

    tool_name: str
    status: Literal["success", "error"]
    value: Any
    error: str | None
    duration_ms: float
    user_id: str
    request_id: str

    @property
    def ok(self) -> bool:
        """True when the tool returned normally."""
        return self.status == "success"


def _tool_name_of(fn: object) -> str:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(
            f"cannot name tool {fn!r} from its __name__ ({name!r}); pass tools as a mapping"
            " {'name': callable} or use register_tool(name, fn)"
        )
    return name


def _normalise_tools(tools: ToolsArgument) -> list[tuple[str, ToolFunction]]:
    if tools is None:
        return []
    if isinstance(tools, Mapping):
        return list(tools.items())
    if isinstance(tools, (str, bytes)) or callable(tools):
        # A lone callable (or a string) is iterable-looking by accident: name the mistake.
        raise TypeError(
            "tools must be an iterable of callables or a mapping of name to callable,"
            f" got {type(tools).__name__}; wrap a single tool in a list"
        )
    return [(_tool_name_of(fn), fn) for fn in tools]


class UnifiedToolDispatcher:
    """Runs the tools of one request, for one user.

    Args:
        user_context: the request's context (required; ``None`` is refused: there is no global
            mode through the constructor).
        tools: callables (named by ``__name__``) or a mapping of name to callable.
        websocket_emitter: emitter bound to the same user; receives ``tool_executing``,
            ``tool_completed`` and ``tool_error`` events.
        permission_service: consulted before every call (``is_tool_allowed``).
    """

    def __init__(
        self,
        user_context: UserExecutionContext,
        tools: ToolsArgument = None,
        websocket_emitter: WebSocketEventEmitter | None = None,
        permission_service: ToolPermissionService | None = None,
    ) -> None:
        if user_context is None:
            raise InvalidContextError(
                "UnifiedToolDispatcher requires a user_context: there is no global mode; use"
                " UnifiedToolDispatcherFactory.create_request_scoped(user_context, ...)"
            )
        context = validate_user_context(user_context)
        if websocket_emitter is not None and websocket_emitter.user_id != context.user_id:
            # An emitter of another user would send this user's results to them.
            raise InvalidContextError(
                f"websocket_emitter belongs to user {websocket_emitter.user_id!r},"
                f" not to this dispatcher's user {context.user_id!r}; create the emitter from"
                " the same context"
            )
        self._setup(context, tools, websocket_emitter, permission_service)

    def _setup(
        self,
        user_context: UserExecutionContext | None,
        tools: ToolsArgument,
        websocket_emitter: WebSocketEventEmitter | None,
        permission_service: ToolPermissionService | None,
    ) -> None:
        # Shared by __init__ and the legacy global path, which alone may pass no context.
        self._user_context = user_context
        # The ids results are stamped with, copied once (as the emitter does): whatever is
        # later done to the context object, this dispatcher keeps speaking for its own user.
        self._bound_ids: tuple[str, str] = (
            (str(user_context.user_id), str(user_context.request_id))
            if user_context is not None
            else (GLOBAL_SCOPE_ID, GLOBAL_SCOPE_ID)
        )
        self._tools: dict[str, ToolFunction] = {}
        self._emitter = websocket_emitter
        self._permission_service = permission_service
        self._closed = False
        self._calls = 0
        self._successes = 0
        self._errors = 0
        self._cancelled = 0
        self._event_failures = 0
        self._total_duration_ms = 0.0
        # Calls whose tool ran to the end (success or exception): what the average is over.
        self._timed_calls = 0
        for name, fn in _normalise_tools(tools):
            self.register_tool(name, fn)

    # -- identity -------------------------------------------------------------------------

    @property
    def user_context(self) -> UserExecutionContext | None:
        """The request's context; ``None`` only for the legacy global dispatcher."""
        return self._user_context

    @property
    def is_request_scoped(self) -> bool:
        """True for every dispatcher except the legacy global one."""
        return self._user_context is not None

    @property
    def websocket_emitter(self) -> WebSocketEventEmitter | None:
        """The emitter events go to, if any (``None`` once closed)."""
        return self._emitter

    @property
    def is_closed(self) -> bool:
        """True once :meth:`cleanup` ran."""
        return self._closed

    def __repr__(self) -> str:
        scope = self._user_context.get_correlation_id() if self._user_context else GLOBAL_SCOPE_ID
        state = "closed" if self._closed else f"{len(self._tools)} tools"
        return f"{type(self).__name__}({scope!r}, {state})"

    def _check_open(self, action: str) -> None:
        if self._closed:
            scope = (
                self._user_context.get_correlation_id() if self._user_context else GLOBAL_SCOPE_ID
            )
            raise DispatcherClosedError(
                f"cannot {action}: the dispatcher of {scope} was cleaned up when its request"
                " ended; create a new one with UnifiedToolDispatcherFactory.create_request_scoped"
            )

    # -- registry -------------------------------------------------------------------------

    def register_tool(self, name: str, fn: ToolFunction, *, replace: bool = True) -> None:
        """Register ``fn`` as ``name`` on this dispatcher only.

        An existing tool of that name is replaced unless ``replace=False`` (then ValueError).
        """
        self._check_open("register a tool")
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ValueError(f"tool name must be a non-empty string without blanks, got {name!r}")
        if not callable(fn):
            raise TypeError(f"tool {name!r} must be callable, got {type(fn).__name__}")
        if not replace and name in self._tools:
            raise ValueError(f"tool {name!r} is already registered on {self!r}")
        self._tools[name] = fn

    def unregister_tool(self, name: str) -> None:
        """Remove ``name``; ToolNotFoundError if it is not registered."""
        self._check_open("unregister a tool")
        if self._tools.pop(name, None) is None:
            raise ToolNotFoundError(f"tool {name!r} is not registered on {self!r}")

    def has_tool(self, name: str) -> bool:
        """True if ``name`` is registered on this dispatcher."""
        self._check_open("look up a tool")
        return name in self._tools

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Registered tool names, in registration order."""
        self._check_open("list tools")
        return tuple(self._tools)

    # -- dispatch -------------------------------------------------------------------------

    def _ids(self) -> tuple[str, str]:
        return self._bound_ids

    async def _emit(self, kind: str, *args: Any) -> None:
        emitter = self._emitter
        if emitter is None:
            return
        try:
            if kind == "executing":
                await emitter.notify_tool_executing(*args)
            elif kind == "completed":
                await emitter.notify_tool_completed(*args)
            else:
                await emitter.notify_tool_error(*args)
        except Exception:
            # Events inform a UI; losing one must not turn a tool's success into a failure.
            self._event_failures += 1
            logger.warning("could not emit a tool_%s event", kind, exc_info=True)

    async def dispatch(self, tool_name: str, **params: Any) -> ToolResult:
        """Run ``tool_name`` with ``params`` and report the outcome.

        Raises:
            DispatcherClosedError: after :meth:`cleanup`.
            ToolNotFoundError: no such tool on this dispatcher (a ``tool_error`` event is sent).
            PermissionError: the permission service refused (a ``tool_error`` event is sent).
        """
        self._check_open(f"dispatch {tool_name!r}")
        user_id, request_id = self._ids()
        self._calls += 1
        fn = self._tools.get(tool_name)
        if fn is None:
            self._errors += 1
            message = f"tool {tool_name!r} is not registered on {self!r}"
            await self._emit("error", tool_name, message, 0.0)
            raise ToolNotFoundError(message)
        service = self._permission_service
        context = self._user_context
        if service is not None and context and not service.is_tool_allowed(context, tool_name):
            self._errors += 1
            message = f"user {user_id!r} may not run tool {tool_name!r}"
            await self._emit("error", tool_name, message, 0.0)
            raise PermissionError(message)

        await self._emit("executing", tool_name, params)
        start = time.perf_counter()
        try:
            value = fn(**params)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            duration_ms = (time.perf_counter() - start) * 1000.0
            self._errors += 1
            self._timed_calls += 1
            self._total_duration_ms += duration_ms
            error = f"{type(exc).__name__}: {exc}"
            logger.debug("tool %s failed for %s: %s", tool_name, user_id, error)
            await self._emit("error", tool_name, error, duration_ms)
            return ToolResult(tool_name, "error", None, error, duration_ms, user_id, request_id)
        except BaseException:
            # Cancellation (or exit): count it and let it propagate untouched. No event is
            # awaited here, because awaiting inside a cancelled task can be cancelled again.
            self._cancelled += 1
            raise
        duration_ms = (time.perf_counter() - start) * 1000.0
        self._successes += 1
        self._timed_calls += 1
        self._total_duration_ms += duration_ms
        await self._emit("completed", tool_name, value, duration_ms)
        return ToolResult(tool_name, "success", value, None, duration_ms, user_id, request_id)

    # -- metrics and lifecycle ------------------------------------------------------------

    @property
    def metrics(self) -> dict[str, float]:
        """A snapshot: calls, successes, errors, cancelled, event_failures, total/avg ms.

        ``errors`` counts failed tools, unknown tools and refused permissions; the durations
        cover the calls whose tool ran to the end (succeeded or raised).
        """
        timed = self._timed_calls
        return {
            "calls": self._calls,
            "successes": self._successes,
            "errors": self._errors,
            "cancelled": self._cancelled,
            "event_failures": self._event_failures,
            "total_duration_ms": self._total_duration_ms,
            "avg_duration_ms": self._total_duration_ms / timed if timed else 0.0,
        }

    def _close(self) -> None:
        # Synchronous on purpose: cleanup must complete even when awaited by a task that is
        # being cancelled, so it never suspends.
        if self._closed:
            return
        self._closed = True
        self._tools.clear()
        self._emitter = None
        self._permission_service = None
        logger.debug("closed %r with metrics %s", self, self.metrics)

    async def cleanup(self) -> None:
        """Release the request's tools and emitter; later use raises DispatcherClosedError.

        Idempotent. Never suspends, so it completes even inside a cancelled task.
        """
        self._close()

    async def __aenter__(self: _D) -> _D:
        self._check_open("enter 'async with'")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.cleanup()


#: The name the legacy code base imports; same class.
ToolDispatcher = UnifiedToolDispatcher

# The process-wide dispatcher of the legacy path. Created lazily on the first call (not at
# import); the lock makes "first" well defined when threads race.
_legacy_global: UnifiedToolDispatcher | None = None
_legacy_lock = threading.Lock()


class UnifiedToolDispatcherFactory:
    """Creates dispatchers: request-scoped ones, and (deprecated) the global one."""

    @staticmethod
    async def create_request_scoped(
        user_context: UserExecutionContext,
        tools: ToolsArgument = None,
        websocket_manager: WebSocketManager | None = None,
        permission_service: ToolPermissionService | None = None,
    ) -> UnifiedToolDispatcher:
        """A new dispatcher for this request only; events go to this context's user."""
        context = validate_user_context(user_context)
        emitter = None
        if websocket_manager is not None:
            emitter = await WebSocketEventEmitterFactory.create_emitter(context, websocket_manager)
        return UnifiedToolDispatcher(
            user_context=context,
            tools=tools,
            websocket_emitter=emitter,
            permission_service=permission_service,
        )

    @staticmethod
    @asynccontextmanager
    async def create_scoped_context(
        user_context: UserExecutionContext,
        tools: ToolsArgument = None,
        websocket_manager: WebSocketManager | None = None,
        permission_service: ToolPermissionService | None = None,
    ) -> AsyncIterator[UnifiedToolDispatcher]:
        """``async with`` form of :meth:`create_request_scoped`: cleans up however it exits."""
        dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(
            user_context, tools, websocket_manager, permission_service
        )
        try:
            yield dispatcher
        finally:
            await dispatcher.cleanup()

    @staticmethod
    def create_legacy_global(
        tools: ToolsArgument = None,
        websocket_manager: WebSocketManager | None = None,
        permission_service: ToolPermissionService | None = None,
    ) -> UnifiedToolDispatcher:
        """DEPRECATED: the one process-wide dispatcher, shared by every caller and user.

        Tools passed here are added to the shared registry, where every other caller sees them.
        It has no user, so it sends no events (``websocket_manager`` is ignored) and checks no
        permissions. Migrate to :meth:`create_request_scoped`.
        """
        global _legacy_global
        warnings.warn(
            "UnifiedToolDispatcherFactory.create_legacy_global() returns a dispatcher shared by"
            " all users (their tools and results are not isolated); use"
            " UnifiedToolDispatcherFactory.create_request_scoped(user_context, ...) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        if websocket_manager is not None or permission_service is not None:
            logger.warning(
                "the legacy global dispatcher has no user: websocket_manager and"
                " permission_service are ignored"
            )
        with _legacy_lock:
            dispatcher = _legacy_global
            if dispatcher is None or dispatcher.is_closed:
                dispatcher = UnifiedToolDispatcher.__new__(UnifiedToolDispatcher)
                dispatcher._setup(None, None, None, None)
                _legacy_global = dispatcher
                logger.warning(
                    "created the legacy global tool dispatcher: tools are shared between users"
                )
        for name, fn in _normalise_tools(tools):
            dispatcher.register_tool(name, fn)
        return dispatcher

    @staticmethod
    def reset_legacy_global() -> None:
        """Close and forget the legacy global dispatcher (for tests)."""
        global _legacy_global
        with _legacy_lock:
            dispatcher, _legacy_global = _legacy_global, None
        if dispatcher is not None:
            dispatcher._close()


#: Module-level spelling of :meth:`UnifiedToolDispatcherFactory.reset_legacy_global`.
reset_legacy_global = UnifiedToolDispatcherFactory.reset_legacy_global
