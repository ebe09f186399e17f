"""The admin tool dispatcher: request-scoped, permission-checked, audited.

An :class:`AdminToolDispatcher` is a :class:`UnifiedToolDispatcher` that runs tools on behalf of
an admin user. It can only be created for the request's own user, and only when the server's
role source says that user has admin permission (``PermissionError`` otherwise): the ``role``
of a :class:`User` object is a claim, built by whoever called, and is never trusted. It works
in a child of the request's context (operation ``"admin_tool_dispatch"``,
carrying the admin's id and permissions), and every admin tool call appends an
:class:`AuditEntry` to the audit trail kept in that child context's metadata
(``admin_context.metadata["audit_trail"]``), so the record travels with the request.

Example::

    # Once, at start-up, from the user store (never from request data):
    permissions = PermissionService(roles=StaticRoleSource({"root-1": "admin"}))
    ...
    ctx = UserExecutionContext.from_request("root-1", thread_id, run_id)
    async with AdminToolDispatcherFactory.create_admin_context(
        ctx, User("root-1"), db, permission_service=permissions
    ) as d:
        d.register_tool("purge_cache", purge_cache)
        await d.dispatch("purge_cache", region="eu")
        assert d.audit_trail[-1].tool_name == "purge_cache"
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Protocol, overload, runtime_checkable

from migrator.reference.context import (
    InvalidContextError,
    UserExecutionContext,
    validate_user_context,
)
from migrator.reference.dispatcher import (
    ToolResult,
    ToolsArgument,
    UnifiedToolDispatcher,
)
from migrator.reference.events import (
    WebSocketEventEmitter,
    WebSocketEventEmitterFactory,
    WebSocketManager,
)

__all__ = [
    "ADMIN_OPERATION",
    "ADMIN_ROLES",
    "AdminToolDispatcher",
    "AdminToolDispatcherFactory",
    "AuditEntry",
    "AuditTrail",
    "PermissionService",
    "RoleSource",
    "StaticRoleSource",
    "User",
]

logger = logging.getLogger(__name__)

#: Roles that carry admin permission.
ADMIN_ROLES: frozenset[str] = frozenset({"admin", "developer"})

#: ``operation_name`` of the child context an admin dispatcher works in.
ADMIN_OPERATION = "admin_tool_dispatch"


@dataclass(frozen=True)
class User:
    """Who performs an operation.

    ``role`` is what the caller *claims*. Admin permission is decided from the role that the
    permission service's :class:`RoleSource` has on record for ``id``, never from this field.
    """

    id: str
    role: str = "user"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError(f"User.id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.role, str) or not self.role.strip():
            raise ValueError(f"User.role must be a non-empty string, got {self.role!r}")


@runtime_checkable
class RoleSource(Protocol):
    """Where roles come from: the server's user store, never the request."""

    def role_of(self, user_id: str) -> str | None:
        """The role on record for ``user_id``, or None if there is none."""
        ...


class StaticRoleSource:
    """A fixed table of user id to role, copied when it is built (later edits do not apply)."""

    __slots__ = ("_roles",)

    def __init__(self, roles: Mapping[str, str]) -> None:
        self._roles: Mapping[str, str] = MappingProxyType(dict(roles))

    def role_of(self, user_id: str) -> str | None:
        """The role on record for ``user_id``, or None."""
        return self._roles.get(user_id)

    def __repr__(self) -> str:
        return f"StaticRoleSource({len(self._roles)} users)"


class PermissionService:
    """Role-based permissions, with roles from a server-side :class:`RoleSource`.

    Args:
        roles: the role source (or a mapping of user id to role, copied). Without one, nobody
            has admin permission: roles are never taken from the ``User`` objects callers pass.

    ``is_developer_or_higher`` and ``get_user_permissions`` say what a role means; they are
    static so the design note's ``PermissionService.is_developer_or_higher(u)`` works, and
    overridable so a stricter subclass can be passed as ``permission_service``. The admin gate
    (:meth:`authorize_admin`) calls them with the role on record, not the claimed one.
    """

    ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
        {
            "user": frozenset({"tools:use"}),
            "developer": frozenset({"tools:use", "admin:tools", "admin:read"}),
            "admin": frozenset({"tools:use", "admin:tools", "admin:read", "admin:write"}),
        }
    )

    def __init__(self, roles: RoleSource | Mapping[str, str] | None = None) -> None:
        if isinstance(roles, Mapping):
            roles = StaticRoleSource(roles)
        elif roles is not None and not isinstance(roles, RoleSource):
            raise TypeError(
                "roles must be a RoleSource (with role_of(user_id)) or a mapping of user id to"
                f" role, got {type(roles).__name__}"
            )
        self._roles: RoleSource | None = roles

    def role_of(self, user_id: str) -> str | None:
        """The role on record for ``user_id`` (None without a role source or a record)."""
        if self._roles is None:
            return None
        role = self._roles.role_of(user_id)
        return role if isinstance(role, str) and role.strip() else None

    def authorize_admin(self, user_context: UserExecutionContext, admin_user: object) -> User:
        """Check that ``admin_user`` may run admin tools for the request of ``user_context``.

        Returns the user as on record (``role`` from the role source). The admin must be the
        request's own user: an admin dispatcher acts for the person who made the request, so a
        ``User`` naming somebody else is refused, whatever its role.

        Raises:
            TypeError: ``admin_user`` is not a :class:`User`.
            PermissionError: another user than the request's, no role on record, or a role
                without admin permission.
        """
        if not isinstance(admin_user, User):
            raise TypeError(f"admin_user must be a User, got {type(admin_user).__name__}")
        request_user = user_context.user_id
        if admin_user.id != request_user:
            raise PermissionError(
                f"admin user {admin_user.id!r} is not the user of this request"
                f" ({request_user!r}); an admin dispatcher acts only for the request's own user:"
                " build the context from the authenticated admin's request"
            )
        role = self.role_of(admin_user.id)
        if role is None:
            raise PermissionError(
                f"user {admin_user.id!r} has no role on record"
                + (
                    ""
                    if self._roles is not None
                    else " (this PermissionService has no role source)"
                )
                + "; the role of a User object is not trusted: configure the server's roles with"
                " PermissionService(roles=...) and pass it as permission_service"
            )
        trusted = User(admin_user.id, role)
        if not self.is_developer_or_higher(trusted):
            raise PermissionError(
                f"user {admin_user.id!r} (role {role!r} on record) lacks admin permissions;"
                f" an admin dispatcher needs one of the roles {sorted(ADMIN_ROLES)}"
            )
        if admin_user.role.lower() != role.lower():
            logger.warning(
                "admin check for %s: the caller claimed role %r, the role source says %r;"
                " the claim was ignored",
                admin_user.id,
                admin_user.role,
                role,
            )
        return trusted

    @staticmethod
    def is_developer_or_higher(user: User) -> bool:
        """True if ``user``'s role carries admin permission (admin or developer)."""
        return isinstance(user, User) and user.role.lower() in ADMIN_ROLES

    @staticmethod
    def get_user_permissions(user: User) -> frozenset[str]:
        """The permissions of ``user``'s role (empty for an unknown role)."""
        return PermissionService.ROLE_PERMISSIONS.get(user.role.lower(), frozenset())

    def is_tool_allowed(self, user_context: UserExecutionContext, tool_name: str) -> bool:
        """Every tool registered on a dispatcher may run; the admin check happens at creation.

        Subclass to restrict individual tools per context.
        """
        return True


@dataclass(frozen=True)
class AuditEntry:
    """One admin operation, as recorded."""

    admin_user_id: str
    operation: str
    tool_name: str
    status: str
    request_id: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    error: str | None = None
    duration_ms: float = 0.0
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class AuditTrail(Sequence[AuditEntry]):
    """An append-only, thread-safe list of :class:`AuditEntry`.

    It lives in the (otherwise immutable) admin context's metadata on purpose: the context is
    frozen so nobody can rewrite it, and this record can only grow.
    """

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()

    def append(self, entry: AuditEntry) -> None:
        """Record ``entry`` at the end."""
        if not isinstance(entry, AuditEntry):
            raise TypeError(f"expected an AuditEntry, got {type(entry).__name__}")
        with self._lock:
            self._entries.append(entry)

    @overload
    def __getitem__(self, index: int) -> AuditEntry: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[AuditEntry]: ...

    def __getitem__(self, index: int | slice) -> AuditEntry | Sequence[AuditEntry]:
        with self._lock:
            if isinstance(index, slice):
                return tuple(self._entries[index])
            return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[AuditEntry]:
        with self._lock:
            return iter(tuple(self._entries))

    def __eq__(self, other: object) -> bool:
        # Compares like the list of entries it stands for (``trail == []`` reads naturally).
        if isinstance(other, (AuditTrail, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    # Mutable and compared by content: not hashable, like a list.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AuditTrail({len(self)} entries)"


def _admin_child_context(
    user_context: UserExecutionContext,
    admin_user: User,
    db_session: object | None,
    service: PermissionService,
) -> UserExecutionContext:
    return user_context.create_child_context(
        operation_name=ADMIN_OPERATION,
        additional_metadata={
            "admin_user_id": admin_user.id,
            "admin_permissions": service.get_user_permissions(admin_user),
            "operation_type": "admin_dispatch",
            "db_session_available": db_session is not None,
            "audit_trail": AuditTrail(),
        },
    )


def _is_admin_child(user_context: UserExecutionContext, admin_user: User) -> bool:
    return (
        user_context.operation_name == ADMIN_OPERATION
        and user_context.metadata.get("admin_user_id") == admin_user.id
        and isinstance(user_context.metadata.get("audit_trail"), AuditTrail)
    )


class AdminToolDispatcher(UnifiedToolDispatcher):
    """A request-scoped dispatcher for admin operations, with an audit trail.

    Args:
        user_context: the request's context (required). The dispatcher works in a child of it,
            :attr:`admin_context` (unless it already is that child, as the factory passes).
        admin_user: who performs the operations: the request's own user, with an admin role on
            record in ``permission_service``'s role source (its ``role`` field is ignored).
        db_session: the session admin tools use (defaults to the context's).
        tools, websocket_emitter: as for :class:`UnifiedToolDispatcher`; the emitter must belong
            to the same user.
        permission_service: decides admin permission and per-tool permission; a
            :class:`PermissionService` by default.
    """

    def __init__(
        self,
        user_context: UserExecutionContext,
        admin_user: User,
        db_session: object | None = None,
        tools: ToolsArgument = None,
        websocket_emitter: WebSocketEventEmitter | None = None,
        permission_service: PermissionService | None = None,
    ) -> None:
        if user_context is None:
            raise InvalidContextError(
                "AdminToolDispatcher requires a user_context: there is no global mode; use"
                " AdminToolDispatcherFactory.create_admin_dispatcher(user_context, ...)"
            )
        context = validate_user_context(user_context)
        service = permission_service if permission_service is not None else PermissionService()
        self.admin_user = service.authorize_admin(context, admin_user)
        self.db_session = db_session if db_session is not None else context.db_session
        if _is_admin_child(context, self.admin_user):
            admin_context = context
        else:
            admin_context = _admin_child_context(context, self.admin_user, self.db_session, service)
        self.admin_context = admin_context
        audit_trail = admin_context.metadata["audit_trail"]
        assert isinstance(audit_trail, AuditTrail)  # built by _admin_child_context
        self._audit_trail = audit_trail
        super().__init__(admin_context, tools, websocket_emitter, service)

    @property
    def audit_trail(self) -> AuditTrail:
        """The admin operations recorded so far (the same object as in admin_context)."""
        return self._audit_trail

    def _audit(
        self,
        tool_name: str,
        params: Mapping[str, Any],
        status: str,
        error: str | None,
        duration_ms: float,
    ) -> None:
        self._audit_trail.append(
            AuditEntry(
                admin_user_id=self.admin_user.id,
                operation="dispatch",
                tool_name=tool_name,
                status=status,
                request_id=self.admin_context.request_id,
                # Keys only: values may be secrets or large; the trail says what was touched.
                parameters=MappingProxyType({key: type(v).__name__ for key, v in params.items()}),
                error=error,
                duration_ms=duration_ms,
            )
        )

    async def dispatch(self, tool_name: str, **params: Any) -> ToolResult:
        """As :meth:`UnifiedToolDispatcher.dispatch`, recording an audit entry for every call
        (including refused, unknown and cancelled ones)."""
        try:
            result = await super().dispatch(tool_name, **params)
        except BaseException as exc:
            status = "cancelled" if not isinstance(exc, Exception) else "refused"
            self._audit(tool_name, params, status, f"{type(exc).__name__}: {exc}", 0.0)
            logger.info(
                "admin %s: %s %s (%s)",
                self.admin_user.id,
                tool_name,
                status,
                self.admin_context.get_correlation_id(),
            )
            raise
        self._audit(tool_name, params, result.status, result.error, result.duration_ms)
        logger.info(
            "admin %s ran %s: %s (%s)",
            self.admin_user.id,
            tool_name,
            result.status,
            self.admin_context.get_correlation_id(),
        )
        return result

    async def dispatch_admin_tool_with_events(
        self, tool_name: str, parameters: Mapping[str, Any] | None = None
    ) -> ToolResult:
        """Dispatch with ``agent_started`` / ``agent_completed`` or ``agent_error`` around the
        tool events, as the admin UI expects."""
        params = dict(parameters or {})
        emitter = self.websocket_emitter
        if emitter is not None:
            await emitter.notify_agent_started(
                "AdminToolDispatcher",
                {"tool_name": tool_name, "admin_user": self.admin_user.id},
            )
        try:
            result = await self.dispatch(tool_name, **params)
        except Exception as exc:
            if emitter is not None:
                await emitter.notify_agent_error(
                    "AdminToolDispatcher", f"{type(exc).__name__}: {exc}", {"tool_name": tool_name}
                )
            raise
        if emitter is not None:
            if result.ok:
                await emitter.notify_agent_completed(
                    "AdminToolDispatcher", {"tool_name": tool_name, "status": result.status}
                )
            else:
                await emitter.notify_agent_error(
                    "AdminToolDispatcher", result.error or "error", {"tool_name": tool_name}
                )
        return result


class AdminToolDispatcherFactory:
    """Creates request-scoped admin dispatchers, checking permission first."""

    @staticmethod
    async def create_admin_dispatcher(
        user_context: UserExecutionContext,
        admin_user: User,
        db_session: object | None,
        tools: ToolsArgument = None,
        websocket_manager: WebSocketManager | None = None,
        permission_service: PermissionService | None = None,
    ) -> AdminToolDispatcher:
        """A new admin dispatcher for this request.

        Raises:
            PermissionError: ``admin_user`` is not the request's user, or the role source has
                no admin role on record for them (see :meth:`PermissionService.authorize_admin`).
            InvalidContextError: ``user_context`` is missing or invalid.
        """
        service = permission_service if permission_service is not None else PermissionService()
        context = validate_user_context(user_context)
        user = service.authorize_admin(context, admin_user)
        admin_context = _admin_child_context(context, user, db_session, service)
        emitter = None
        if websocket_manager is not None:
            # Bound to the admin child, so the events carry the admin operation's request id.
            emitter = await WebSocketEventEmitterFactory.create_emitter(
                admin_context, websocket_manager
            )
        dispatcher = AdminToolDispatcher(
            user_context=admin_context,
            admin_user=user,
            db_session=db_session,
            tools=tools,
            websocket_emitter=emitter,
            permission_service=service,
        )
        logger.info(
            "created a request-scoped AdminToolDispatcher for admin %s in %s",
            user.id,
            admin_context.get_correlation_id(),
        )
        return dispatcher

    @staticmethod
    @asynccontextmanager
    async def create_admin_context(
        user_context: UserExecutionContext,
        admin_user: User,
        db_session: object | None,
        websocket_manager: WebSocketManager | None = None,
        tools: ToolsArgument = None,
        permission_service: PermissionService | None = None,
    ) -> AsyncIterator[AdminToolDispatcher]:
        """``async with`` form of :meth:`create_admin_dispatcher`: cleans up however it exits."""
        dispatcher = await AdminToolDispatcherFactory.create_admin_dispatcher(
            user_context, admin_user, db_session, tools, websocket_manager, permission_service
        )
        try:
            yield dispatcher
        finally:
            await dispatcher.cleanup()
