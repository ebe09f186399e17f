"""AdminToolDispatcher and its factory: permission checks, admin context, audit trail, events."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.reference import (
    ADMIN_OPERATION,
    AdminToolDispatcher,
    AdminToolDispatcherFactory,
    AuditTrail,
    DispatcherClosedError,
    InMemoryWebSocketManager,
    InvalidContextError,
    PermissionService,
    RoleSource,
    StaticRoleSource,
    ToolNotFoundError,
    UnifiedToolDispatcher,
    User,
    UserExecutionContext,
)

ADMIN = User("root-1", role="admin")
DEVELOPER = User("dev-1", role="developer")
PLAIN_USER = User("user-1")
# The server's role table: where admin permission really comes from.
SERVICE = PermissionService(roles={"root-1": "admin", "dev-1": "developer", "user-1": "user"})


class FakeSession:
    """Stands in for a database session, which the dispatcher only carries."""


def context(n: int = 1, user: User = ADMIN) -> UserExecutionContext:
    """The context of ``user``'s n-th request (an admin acts only in their own requests)."""
    return UserExecutionContext.from_request(user.id, f"thread_{n}", f"run_{n}")


def purge_cache(region: str, token: str = "") -> str:
    return f"purged {region}"


def fail_migration() -> None:
    raise RuntimeError("lock timeout")


def test_permission_service_roles() -> None:
    assert PermissionService.is_developer_or_higher(ADMIN)
    assert PermissionService.is_developer_or_higher(DEVELOPER)
    assert PermissionService.is_developer_or_higher(User("x", role="Admin"))
    assert not PermissionService.is_developer_or_higher(PLAIN_USER)
    assert "admin:write" in PermissionService.get_user_permissions(ADMIN)
    assert "admin:write" not in PermissionService.get_user_permissions(DEVELOPER)
    assert PermissionService.get_user_permissions(User("x", role="guest")) == frozenset()
    with pytest.raises(ValueError):
        User("")


async def test_non_admin_is_refused_everywhere() -> None:
    own = context(user=PLAIN_USER)
    with pytest.raises(PermissionError, match="user-1"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(
            own, PLAIN_USER, None, permission_service=SERVICE
        )
    with pytest.raises(PermissionError):
        AdminToolDispatcher(own, PLAIN_USER, permission_service=SERVICE)
    with pytest.raises(PermissionError):
        async with AdminToolDispatcherFactory.create_admin_context(
            own, PLAIN_USER, None, permission_service=SERVICE
        ):
            pytest.fail("the body must not run for a non-admin")
    with pytest.raises(TypeError, match="User"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(
            context(),
            "root-1",  # type: ignore[arg-type]
            None,
            permission_service=SERVICE,
        )


async def test_a_stricter_permission_service_is_honoured() -> None:
    class AdminsOnly(PermissionService):
        @staticmethod
        def is_developer_or_higher(user: User) -> bool:
            return user.role == "admin"

    roles = {"root-1": "admin", "dev-1": "developer"}
    with pytest.raises(PermissionError):
        await AdminToolDispatcherFactory.create_admin_dispatcher(
            context(user=DEVELOPER), DEVELOPER, None, permission_service=AdminsOnly(roles)
        )
    d = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(), ADMIN, None, permission_service=AdminsOnly(roles)
    )
    assert d.admin_user == ADMIN


async def test_admin_requires_a_context() -> None:
    with pytest.raises(InvalidContextError, match="no global mode"):
        AdminToolDispatcher(None, ADMIN)  # type: ignore[arg-type]
    with pytest.raises(InvalidContextError):
        await AdminToolDispatcherFactory.create_admin_dispatcher(None, ADMIN, None)  # type: ignore[arg-type]


async def test_admin_dispatcher_works_in_a_child_context() -> None:
    parent = context(user=DEVELOPER)
    session = FakeSession()
    d = await AdminToolDispatcherFactory.create_admin_dispatcher(
        parent, DEVELOPER, session, permission_service=SERVICE
    )
    assert isinstance(d, UnifiedToolDispatcher) and d.is_request_scoped
    admin_ctx = d.admin_context
    assert d.user_context is admin_ctx
    assert admin_ctx.operation_name == ADMIN_OPERATION
    assert admin_ctx.parent_request_id == parent.request_id
    assert admin_ctx.lineage == (parent.request_id,)
    assert (admin_ctx.user_id, admin_ctx.thread_id, admin_ctx.run_id) == (
        "dev-1",
        "thread_1",
        "run_1",
    )
    assert admin_ctx.metadata["admin_user_id"] == "dev-1"
    assert admin_ctx.metadata["admin_permissions"] == PermissionService.get_user_permissions(
        DEVELOPER
    )
    assert admin_ctx.metadata["db_session_available"] is True
    assert d.db_session is session
    assert "audit_trail" not in parent.metadata

    # Built directly, it derives the same kind of child.
    direct = AdminToolDispatcher(parent, DEVELOPER, session, permission_service=SERVICE)
    assert direct.admin_context.parent_request_id == parent.request_id
    assert direct.audit_trail is not d.audit_trail


async def test_admin_operations_are_audited_in_the_admin_context() -> None:
    async with AdminToolDispatcherFactory.create_admin_context(
        context(),
        ADMIN,
        FakeSession(),
        tools=[purge_cache, fail_migration],
        permission_service=SERVICE,
    ) as d:
        ok = await d.dispatch("purge_cache", region="eu", token="s3cr3t")
        failed = await d.dispatch("fail_migration")
        with pytest.raises(ToolNotFoundError):
            await d.dispatch("drop_everything")

    assert ok.value == "purged eu" and failed.error == "RuntimeError: lock timeout"
    trail = d.admin_context.metadata["audit_trail"]
    assert isinstance(trail, AuditTrail) and trail is d.audit_trail
    assert [(e.tool_name, e.status) for e in trail] == [
        ("purge_cache", "success"),
        ("fail_migration", "error"),
        ("drop_everything", "refused"),
    ]
    assert {e.admin_user_id for e in trail} == {"root-1"}
    assert {e.request_id for e in trail} == {d.admin_context.request_id}
    assert trail[1].error == "RuntimeError: lock timeout"
    # Parameter names are kept, values are not: secrets stay out of the record.
    assert dict(trail[0].parameters) == {"region": "str", "token": "str"}
    assert "s3cr3t" not in repr(list(trail))

    # The trail can only grow, and the context around it stays read-only.
    assert not hasattr(trail, "pop") and not hasattr(trail, "__setitem__")
    with pytest.raises(TypeError):
        d.admin_context.metadata["audit_trail"] = AuditTrail()  # type: ignore[index]
    with pytest.raises(DispatcherClosedError):
        await d.dispatch("purge_cache", region="us")
    assert len(trail) == 4 and trail[-1].status == "refused"


async def test_admin_trails_are_per_dispatcher() -> None:
    a = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(1), ADMIN, None, tools=[purge_cache], permission_service=SERVICE
    )
    b = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(2), ADMIN, None, tools=[purge_cache], permission_service=SERVICE
    )
    await a.dispatch("purge_cache", region="eu")
    assert len(a.audit_trail) == 1 and a.audit_trail == [a.audit_trail[0]]
    assert b.audit_trail == []


async def test_dispatch_admin_tool_with_events() -> None:
    manager = InMemoryWebSocketManager()
    d = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(),
        ADMIN,
        None,
        tools=[purge_cache, fail_migration],
        websocket_manager=manager,
        permission_service=SERVICE,
    )
    await d.dispatch_admin_tool_with_events("purge_cache", {"region": "eu"})
    await d.dispatch_admin_tool_with_events("fail_migration")
    with pytest.raises(ToolNotFoundError):
        await d.dispatch_admin_tool_with_events("nope")

    events: list[dict[str, Any]] = manager.events_for("root-1")
    assert [e["type"] for e in events] == [
        "agent_started",
        "tool_executing",
        "tool_completed",
        "agent_completed",
        "agent_started",
        "tool_executing",
        "tool_error",
        "agent_error",
        "agent_started",
        "tool_error",
        "agent_error",
    ]
    assert {e["request_id"] for e in events} == {d.admin_context.request_id}
    assert events[0]["payload"]["context"] == {"tool_name": "purge_cache", "admin_user": "root-1"}
    assert events[3]["payload"]["result"] == {"tool_name": "purge_cache", "status": "success"}
    assert events[7]["payload"]["error"] == "RuntimeError: lock timeout"


async def test_admin_context_manager_cleans_up_on_error() -> None:
    seen: list[AdminToolDispatcher] = []
    with pytest.raises(KeyError):
        async with AdminToolDispatcherFactory.create_admin_context(
            context(), ADMIN, None, permission_service=SERVICE
        ) as d:
            seen.append(d)
            raise KeyError("boom")
    assert seen[0].is_closed


async def test_a_caller_built_admin_unrelated_to_the_request_is_refused() -> None:
    """The issue's report: User(role="ADMIN") naming somebody else used to get admin tools."""
    alice_request = UserExecutionContext.from_request("alice", "thread-a", "run-a")
    forged = User("mallory", role="ADMIN")
    with pytest.raises(PermissionError, match="not the user of this request"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(alice_request, forged, None)
    with pytest.raises(PermissionError, match="not the user of this request"):
        AdminToolDispatcher(alice_request, forged)
    # Even a real admin may not act inside another user's request.
    with pytest.raises(PermissionError, match="not the user of this request"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(
            alice_request, ADMIN, None, permission_service=SERVICE
        )


@pytest.mark.parametrize("claimed", ["admin", "ADMIN", "developer"])
async def test_the_claimed_role_is_never_trusted(claimed: str) -> None:
    # The request's own user, claiming a role the server does not have on record for them.
    own = context(user=PLAIN_USER)
    claim = User(PLAIN_USER.id, role=claimed)
    with pytest.raises(PermissionError, match="has no role on record"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(own, claim, None)
    with pytest.raises(PermissionError, match="role 'user' on record"):
        await AdminToolDispatcherFactory.create_admin_dispatcher(
            own, claim, None, permission_service=SERVICE
        )
    with pytest.raises(PermissionError, match="has no role on record"):
        AdminToolDispatcher(own, claim, permission_service=PermissionService({"other": "admin"}))


async def test_the_role_on_record_decides_and_is_what_the_dispatcher_carries() -> None:
    table = {"root-1": "admin"}
    service = PermissionService(roles=StaticRoleSource(table))
    table["root-1"] = "user"  # the source copied the table: later edits do not apply
    understated = User("root-1")  # claims "user"; the record says admin
    d = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(), understated, None, permission_service=service
    )
    assert d.admin_user == User("root-1", role="admin")
    assert d.admin_context.metadata["admin_permissions"] == PermissionService.get_user_permissions(
        ADMIN
    )

    class Directory:
        """A live role source, such as a user store."""

        def role_of(self, user_id: str) -> str | None:
            return {"root-1": "developer"}.get(user_id)

    assert isinstance(Directory(), RoleSource)
    d = await AdminToolDispatcherFactory.create_admin_dispatcher(
        context(), ADMIN, None, permission_service=PermissionService(Directory())
    )
    assert d.admin_user.role == "developer"
    with pytest.raises(TypeError, match="RoleSource"):
        PermissionService(roles=["root-1"])  # type: ignore[arg-type]
