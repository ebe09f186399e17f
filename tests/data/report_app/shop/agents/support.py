"""Support agent: legacy global factories, one suppressed with a reason."""

from netra_backend.app.agents.tool_dispatcher import create_legacy_tool_dispatcher
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory

async def open_ticket(user_context, subject: str) -> str:
    dispatcher = create_legacy_tool_dispatcher(tools=[])
    result = await dispatcher.dispatch("open_ticket", subject=subject)
    return str(result.value)


async def escalate(user_context, ticket_id: str) -> None:
    dispatcher = UnifiedToolDispatcherFactory.create_legacy_global()  # migrator: ignore[legacy-factory] shared escalation queue until=2999-12-31
    await dispatcher.dispatch("escalate", ticket_id=ticket_id)


async def close_ticket(user_context, ticket_id: str) -> None:
    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context) as dispatcher:
        await dispatcher.dispatch("close_ticket", ticket_id=ticket_id)


def nightly_digest() -> None:
    dispatcher = create_legacy_tool_dispatcher()  # migrator: ignore[legacy-factory] digest job, tracked in OPS-12 until=2001-01-01
    dispatcher.dispatch("digest")  # migrator: ignore[singleton] nothing to suppress here
