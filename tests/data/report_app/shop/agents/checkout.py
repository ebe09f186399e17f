"""Checkout agent: a mix of migrated and legacy dispatcher creation."""

from netra_backend.app.agents.supervisor.user_execution_context import UserExecutionContext
from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcherFactory
from shop.agents import AgentDispatcher

SHARED = AgentDispatcher()


async def price_cart(user_context: UserExecutionContext, cart_id: str) -> float:
    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context)
    result = await dispatcher.dispatch("price_cart", cart_id=cart_id)
    return float(result.value)


async def apply_coupon(user_context: UserExecutionContext, code: str) -> bool:
    dispatcher = AgentDispatcher(user_context=user_context)
    result = await dispatcher.dispatch("apply_coupon", code=code)
    return bool(result.value)


async def confirm_order(user_context: UserExecutionContext, order_id: str) -> str:
    dispatcher = AgentDispatcher(None)
    await dispatcher.dispatch("reserve_stock", order_id=order_id)
    return order_id


def estimate_shipping(address: str) -> float:
    dispatcher = AgentDispatcher()
    return 4.99 if dispatcher.tool_names else 0.0
