"""Benchmark: dispatch overhead of the reference dispatcher under 1, 15 and 1,000 users.

Run from a checkout: ``python benchmarks/reference_dispatch.py [--calls N]``.

Every user gets its own request-scoped dispatcher (``create_scoped_context``) and all users run
at the same time on one event loop. The tool yields once (``await asyncio.sleep(0)``) so that
users really interleave. The *overhead* of a call is its wall time in ``dispatch`` minus the
time the tool itself took (``ToolResult.duration_ms``): registry lookup, checks, timing, result
and event construction, and the in-memory event delivery when events are on. Waiting for other
users' turns falls inside the tool's time, so it is not counted as overhead.

Also measured: opening and closing one request scope (``create_scoped_context``) per request.
This is a benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migrator.reference import (
    InMemoryWebSocketManager,
    UnifiedToolDispatcherFactory,
    UserExecutionContext,
)

USER_COUNTS = (1, 15, 1000)


async def noop(i: int) -> int:
    await asyncio.sleep(0)
    return i


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run(users: int, calls_per_user: int, events: bool) -> dict[str, float]:
    manager = InMemoryWebSocketManager(history_limit=100) if events else None
    overheads_us: list[float] = []
    scope_us: list[float] = []
    start_all = asyncio.Event()

    async def session(user: int) -> None:
        ctx = UserExecutionContext.from_request(f"user_{user}", f"thread_{user}", f"run_{user}")
        t0 = time.perf_counter_ns()
        scope = UnifiedToolDispatcherFactory.create_scoped_context(
            ctx, [noop], websocket_manager=manager
        )
        dispatcher = await scope.__aenter__()
        opened = time.perf_counter_ns() - t0
        try:
            await start_all.wait()
            for i in range(calls_per_user):
                before = time.perf_counter_ns()
                result = await dispatcher.dispatch("noop", i=i)
                wall_us = (time.perf_counter_ns() - before) / 1000
                overheads_us.append(wall_us - result.duration_ms * 1000)
        finally:
            t1 = time.perf_counter_ns()
            await scope.__aexit__(None, None, None)
            scope_us.append((opened + time.perf_counter_ns() - t1) / 1000)

    tasks = [asyncio.create_task(session(u)) for u in range(users)]
    await asyncio.sleep(0)  # let every session open its scope first
    began = time.perf_counter()
    start_all.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return {
        "calls": len(overheads_us),
        "p50": percentile(overheads_us, 50),
        "p99": percentile(overheads_us, 99),
        "mean": statistics.fmean(overheads_us),
        "throughput": len(overheads_us) / elapsed,
        "scope_p50": percentile(scope_us, 50),
        "scope_p99": percentile(scope_us, 99),
    }


async def main(total_calls: int) -> None:
    # Warm up imports, caches and the allocator before measuring.
    await run(10, 50, events=True)
    print(f"Python {sys.version.split()[0]}, one event loop; times in microseconds")
    print()
    header = (
        f"{'users':>6} {'events':>7} {'calls':>7} {'p50 us':>8} {'p99 us':>8} "
        f"{'mean us':>8} {'calls/s':>9} {'scope p50':>10} {'scope p99':>10}"
    )
    print(header)
    print("-" * len(header))
    for events in (False, True):
        for users in USER_COUNTS:
            per_user = max(5, total_calls // users)
            r = await run(users, per_user, events)
            print(
                f"{users:>6} {'on' if events else 'off':>7} {int(r['calls']):>7} "
                f"{r['p50']:>8.1f} {r['p99']:>8.1f} {r['mean']:>8.1f} "
                f"{r['throughput']:>9.0f} {r['scope_p50']:>10.1f} {r['scope_p99']:>10.1f}"
            )
    print()
    print("p50/p99/mean: dispatch overhead per call (wall time minus the tool's own time).")
    print("scope: create_scoped_context open + close per request (dispatcher, emitter, cleanup).")
    print("events on: tool_executing + tool_completed delivered through InMemoryWebSocketManager.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="total calls per row")
    asyncio.run(main(parser.parse_args().calls))
