"""Tool results of any shape become events: cycles and shared sub-structures included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from migrator.reference import (
    InMemoryWebSocketManager,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
    to_json_safe,
)


def self_referential_list() -> list[Any]:
    value: list[Any] = ["head"]
    value.append(value)
    value.append(value)  # twice: each level doubles the work of a depth-only cut-off
    return value


def self_referential_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"name": "root"}
    value["self"] = value
    value["children"] = [value, {"parent": value}]
    return value


@dataclass
class Node:
    name: str
    links: list[Any] = field(default_factory=list)


def self_referential_dataclass() -> Node:
    node = Node("n")
    node.links.extend([node, node])
    return node


def doubling_chain(levels: int = 60) -> list[Any]:
    """No cycle, but every level holds the next one twice: 2**60 paths."""
    value: list[Any] = []
    for _ in range(levels):
        value = [value, value]
    return value


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (self_referential_list, ["head", "<cycle>", "<cycle>"]),
        (
            self_referential_dict,
            {"name": "root", "self": "<cycle>", "children": ["<cycle>", {"parent": "<cycle>"}]},
        ),
        (self_referential_dataclass, {"name": "n", "links": ["<cycle>", "<cycle>"]}),
    ],
    ids=["list", "dict", "dataclass"],
)
def test_a_cycle_becomes_a_marker(make: Any, expected: Any) -> None:
    assert to_json_safe(make()) == expected


def test_shared_sub_structures_are_not_mistaken_for_cycles() -> None:
    shared = {"k": 1}
    assert to_json_safe([shared, shared, {"a": shared}]) == [{"k": 1}, {"k": 1}, {"a": {"k": 1}}]


def test_exponential_sharing_is_cut_off_by_a_budget() -> None:
    out = to_json_safe(doubling_chain())
    text = json.dumps(out)
    # Without a budget the 20-level depth cap alone still expands 2**20 leaves (4 MB).
    assert len(text) < 1_500_000
    assert "<truncated>" in text


def test_long_reprs_are_capped() -> None:
    class Chatty:
        def __repr__(self) -> str:
            return "x" * 1_000_000

    text = to_json_safe(Chatty())
    assert text.startswith("xxx") and text.endswith("...<truncated>") and len(text) < 3_000


async def test_a_self_referential_tool_result_is_sent_as_an_event() -> None:
    manager = InMemoryWebSocketManager()
    ctx = UserExecutionContext.from_request("user-a", "thread-a", "run-a")
    async with UnifiedToolDispatcherFactory.create_scoped_context(
        ctx,
        tools={"loop": self_referential_list, "chain": doubling_chain},
        websocket_manager=manager,
    ) as dispatcher:
        looped = await dispatcher.dispatch("loop")
        chained = await dispatcher.dispatch("chain")
    assert looped.ok and chained.ok
    assert looped.value[1] is looped.value  # the caller still gets the object itself
    completed = [e for e in manager.events_for("user-a") if e["type"] == "tool_completed"]
    assert completed[0]["payload"]["result"] == ["head", "<cycle>", "<cycle>"]
    assert dispatcher.metrics["event_failures"] == 0
