"""Billing: forwarded options and a dispatcher chosen at run time."""

from netra_backend.app.agents.tool_dispatcher import ToolDispatcher
from netra_backend.app.agents.tool_dispatcher_unified import (
    UnifiedToolDispatcher, UnifiedToolDispatcherFactory
)


def make_dispatcher(**options) -> UnifiedToolDispatcher:
    return UnifiedToolDispatcher(**options)


async def send_invoice(user_context, invoice_id: str) -> None:
    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context)
    await dispatcher.dispatch("send_invoice", invoice_id=invoice_id)


async def refund(user_context, payment_id: str) -> None:
    dispatcher = ToolDispatcher(user_context)
    await dispatcher.dispatch("refund", payment_id=payment_id)
    await dispatcher.dispatch("notify_refund", payment_id=payment_id)
