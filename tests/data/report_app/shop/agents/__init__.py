"""Agents of the shop; re-exports the dispatcher under the name the team uses."""
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher as AgentDispatcher

__all__ = ["AgentDispatcher"]
