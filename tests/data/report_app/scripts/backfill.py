"""A one-off script that keeps a module-level dispatcher."""

from netra_backend.app.agents.tool_dispatcher import create_tool_dispatcher
DISPATCHER = create_tool_dispatcher()


def main() -> None:
    DISPATCHER.dispatch("backfill")
