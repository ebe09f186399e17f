"""Benchmark: memory per request-scoped dispatcher, measured with tracemalloc.

Run from a checkout: ``python benchmarks/reference_memory.py [--count 1000]``.

For each shape, ``count`` objects are created and kept alive, and the growth of traced memory
is divided by ``count``. Everything a request owns is included: its context (ids, timestamp,
metadata proxy), emitter, dispatcher, and tool registry; the tool functions themselves are
shared module-level functions, as in a real application. A last row checks that nothing is
left behind once every request has cleaned up and been released.
This is a benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migrator.reference import (
    AdminToolDispatcherFactory,
    InMemoryWebSocketManager,
    PermissionService,
    UnifiedToolDispatcherFactory,
    User,
    UserExecutionContext,
)

BUDGET_BYTES = 64 * 1024
ADMIN = User("admin-1", role="admin")
# Admin permission comes from the server's role table, and an admin acts in their own request.
PERMISSIONS = PermissionService(roles={ADMIN.id: "admin"})


async def search(query: str) -> list[str]:
    return [query]


async def summarise(text: str) -> str:
    return text[:10]


def count_words(text: str) -> int:
    return len(text.split())


TOOLS = [search, summarise, count_words]


def ctx(i: int) -> UserExecutionContext:
    return UserExecutionContext.from_request(
        f"user-{i}", f"thread-{i}", f"run-{i}", metadata={"plan": "pro", "locale": "en"}
    )


async def measure(make: Callable[[int], Awaitable[Any]], count: int) -> tuple[float, float]:
    """Bytes per object kept alive, and peak bytes per object while creating them."""
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    kept = [await make(i) for i in range(count)]
    after, peak = tracemalloc.get_traced_memory()
    per_object = (after - before) / count
    peak_per_object = (peak - before) / count
    del kept
    return per_object, peak_per_object


async def main(count: int) -> None:
    manager = InMemoryWebSocketManager(history_limit=0)

    async def context_only(i: int) -> Any:
        return ctx(i)

    async def bare_dispatcher(i: int) -> Any:
        return await UnifiedToolDispatcherFactory.create_request_scoped(ctx(i))

    async def full_dispatcher(i: int) -> Any:
        return await UnifiedToolDispatcherFactory.create_request_scoped(
            ctx(i), TOOLS, websocket_manager=manager
        )

    async def used_dispatcher(i: int) -> Any:
        d = await UnifiedToolDispatcherFactory.create_request_scoped(
            ctx(i), TOOLS, websocket_manager=manager
        )
        await d.dispatch("search", query="cats")
        await d.dispatch("count_words", text="a b c")
        return d

    async def admin_dispatcher(i: int) -> Any:
        admin_ctx = UserExecutionContext.from_request(
            ADMIN.id, f"thread-{i}", f"run-{i}", metadata={"plan": "pro", "locale": "en"}
        )
        d = await AdminToolDispatcherFactory.create_admin_dispatcher(
            admin_ctx, ADMIN, None, TOOLS, websocket_manager=manager, permission_service=PERMISSIONS
        )
        await d.dispatch("search", query="cats")
        return d

    shapes: list[tuple[str, Callable[[int], Awaitable[Any]]]] = [
        ("context only", context_only),
        ("dispatcher, no tools", bare_dispatcher),
        ("dispatcher + emitter + 3 tools", full_dispatcher),
        ("  ... after 2 dispatches", used_dispatcher),
        ("admin dispatcher, 1 dispatch", admin_dispatcher),
    ]

    # Warm up: first calls allocate caches (uuid, datetime, logging) that are not per request.
    for _, make in shapes:
        await make(-1)

    tracemalloc.start()
    print(f"Python {sys.version.split()[0]}; {count} objects per row; bytes from tracemalloc")
    print()
    header = f"{'shape':<32} {'bytes/request':>14} {'peak/request':>13} {'budget':>8}"
    print(header)
    print("-" * len(header))
    for name, make in shapes:
        per_object, peak = await measure(make, count)
        verdict = "ok" if per_object < BUDGET_BYTES else "OVER"
        print(f"{name:<32} {per_object:>14,.0f} {peak:>13,.0f} {verdict:>8}")

    # Leak check: whole request lifecycles, then nothing kept.
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(count):
        async with UnifiedToolDispatcherFactory.create_scoped_context(
            ctx(i), TOOLS, websocket_manager=manager
        ) as d:
            await d.dispatch("search", query="cats")
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'left after cleanup (total)':<32} {after - before:>14,}")
    print()
    print(f"budget: < {BUDGET_BYTES // 1024} KiB per request-scoped dispatcher")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    asyncio.run(main(parser.parse_args().count))
