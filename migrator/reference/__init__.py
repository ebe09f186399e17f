"""Reference implementation of the request-scoped tool dispatcher.

This is the target of the migration, small and real: code rewritten by ``migrator fix`` runs
against it. One request gets one :class:`UserExecutionContext` (frozen, validated), one
:class:`UnifiedToolDispatcher` (its own tools, results, metrics and events), and nothing it
shares with another user's request. The old process-wide dispatcher survives only as
:meth:`UnifiedToolDispatcherFactory.create_legacy_global`, which warns.

Modules:

- :mod:`~migrator.reference.context`: ``UserExecutionContext``, ``validate_user_context``.
- :mod:`~migrator.reference.dispatcher`: ``UnifiedToolDispatcher`` (alias ``ToolDispatcher``),
  ``UnifiedToolDispatcherFactory``, ``ToolResult``.
- :mod:`~migrator.reference.admin`: ``AdminToolDispatcher`` and its factory, ``User``,
  ``PermissionService``, the audit trail.
- :mod:`~migrator.reference.events`: the per-user ``WebSocketEventEmitter`` and an in-memory
  manager.
- :mod:`~migrator.reference.auth`: signed connection tokens (``ConnectionTokenIssuer``).
- :mod:`~migrator.reference.loopback`: an authenticated WebSocket event server on 127.0.0.1.

Example::

    ctx = UserExecutionContext.from_request("user-1", "thread-1", "run-1")
    async with UnifiedToolDispatcherFactory.create_scoped_context(ctx, tools=[search]) as d:
        result = await d.dispatch("search", query="cats")
"""

from migrator.reference.admin import (
    ADMIN_OPERATION,
    ADMIN_ROLES,
    AdminToolDispatcher,
    AdminToolDispatcherFactory,
    AuditEntry,
    AuditTrail,
    PermissionService,
    RoleSource,
    StaticRoleSource,
    User,
)
from migrator.reference.auth import (
    AuthenticationError,
    ConnectionTokenIssuer,
    VerifiedToken,
)
from migrator.reference.context import (
    PLACEHOLDER_IDS,
    InvalidContextError,
    UserExecutionContext,
    validate_user_context,
)
from migrator.reference.dispatcher import (
    GLOBAL_SCOPE_ID,
    DispatcherClosedError,
    ToolDispatcher,
    ToolFunction,
    ToolNotFoundError,
    ToolPermissionService,
    ToolResult,
    ToolsArgument,
    UnifiedToolDispatcher,
    UnifiedToolDispatcherFactory,
    reset_legacy_global,
)
from migrator.reference.events import (
    EVENT_TYPES,
    EventRoutingError,
    InMemoryWebSocketManager,
    WebSocketEventEmitter,
    WebSocketEventEmitterFactory,
    WebSocketManager,
    check_event_owner,
    to_json_safe,
)
from migrator.reference.loopback import (
    CLOSE_SLOW_CLIENT,
    LOOPBACK_HOST,
    DroppedConnection,
    LoopbackWebSocketServer,
    open_user_connection,
)

__all__ = [
    "ADMIN_OPERATION",
    "ADMIN_ROLES",
    "CLOSE_SLOW_CLIENT",
    "EVENT_TYPES",
    "GLOBAL_SCOPE_ID",
    "LOOPBACK_HOST",
    "PLACEHOLDER_IDS",
    "AdminToolDispatcher",
    "AdminToolDispatcherFactory",
    "AuditEntry",
    "AuditTrail",
    "AuthenticationError",
    "ConnectionTokenIssuer",
    "DispatcherClosedError",
    "DroppedConnection",
    "EventRoutingError",
    "InMemoryWebSocketManager",
    "InvalidContextError",
    "LoopbackWebSocketServer",
    "PermissionService",
    "RoleSource",
    "StaticRoleSource",
    "ToolDispatcher",
    "ToolFunction",
    "ToolNotFoundError",
    "ToolPermissionService",
    "ToolResult",
    "ToolsArgument",
    "UnifiedToolDispatcher",
    "UnifiedToolDispatcherFactory",
    "User",
    "UserExecutionContext",
    "VerifiedToken",
    "WebSocketEventEmitter",
    "WebSocketEventEmitterFactory",
    "WebSocketManager",
    "check_event_owner",
    "open_user_connection",
    "reset_legacy_global",
    "to_json_safe",
    "validate_user_context",
]
