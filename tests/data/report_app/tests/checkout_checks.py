"""Checks of the checkout agent (test code: it is under tests/) still build a shared dispatcher."""

from netra_backend.app.agents.tool_dispatcher import ToolDispatcher

def test_shared_dispatcher_has_tools():
    dispatcher = ToolDispatcher()
    assert dispatcher is not None


async def test_scoped(user_context):
    dispatcher = ToolDispatcher(user_context=user_context)
    assert dispatcher is not None
