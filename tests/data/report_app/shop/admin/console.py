"""Admin console: the admin dispatcher and a subclass that drops the context."""

from netra_backend.app.agents.admin_tool_dispatcher.dispatcher_core import AdminToolDispatcher
from netra_backend.app.agents.admin_tool_dispatcher.factory import AdminToolDispatcherFactory
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcher

class AuditedDispatcher(UnifiedToolDispatcher):
    def __init__(self, tools=None):
        super().__init__(user_context=None, tools=tools)


async def purge(user_context, db, admin_user) -> None:
    dispatcher = AdminToolDispatcher(db=db, user=admin_user)
    await dispatcher.dispatch("purge")


async def export_users(user_context, db, admin_user) -> None:
    dispatcher = await AdminToolDispatcherFactory.create_admin_dispatcher(user_context, admin_user, db)
    await dispatcher.dispatch("export_users")


async def audit_trail(user_context) -> None:
    dispatcher = AuditedDispatcher(tools=[])
    await dispatcher.dispatch("audit_trail")
