"""Load test: 500 authenticated clients in another process, 10,000 events, 0 misrouted.

Run from a checkout: ``python benchmarks/reference_load.py [--clients 500] [--events 10000]
[--duration 10] [--client-procs 1] [--runs 3]``.

The server (a ``LoopbackWebSocketServer`` on 127.0.0.1 and one request-scoped emitter per
user) runs in this process; the clients run in ``--client-procs`` child processes, one real
WebSocket connection per user, each opened with its own signed token. The events are spread
over the users and emitted at random moments over ``--duration`` seconds. Latency is measured
from just before ``emit()`` to the decoded event in the client (``time.time_ns()`` on both
sides). Every client checks that each event names its own user, and that none is missing,
repeated or out of order. Exit code 1 if anything was misrouted, lost or dropped: this is a
benchmark, not a test, and asserts no timing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migrator.reference.loadtest import LoadReport, run_load

TARGET_P99_MS = 5.0


def row(run: int, report: LoadReport) -> str:
    return (
        f"{run:>3} {report.clients:>7} {report.events_sent:>7} {report.events_received:>8}"
        f" {report.p(50):>7.2f} {report.p(90):>7.2f} {report.p(99):>7.2f}"
        f" {max(report.latencies_ms, default=0.0):>7.2f} {report.misrouted:>9} {report.lost:>5}"
        f" {report.dropped_connections:>7}"
    )


async def main(clients: int, events: int, duration: float, procs: int, runs: int) -> int:
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average"
        f" {os.getloadavg()[0]:.1f} at start; {clients} clients in {procs} separate process(es)"
    )
    print(
        f"{events:,} events over {duration:g} s ({events / duration:,.0f} events/s);"
        " latency from emit() to decoded on the client, in ms"
    )
    print()
    header = (
        f"{'run':>3} {'clients':>7} {'events':>7} {'received':>8} {'p50 ms':>7} {'p90 ms':>7}"
        f" {'p99 ms':>7} {'max ms':>7} {'misrouted':>9} {'lost':>5} {'dropped':>7}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    p99s: list[float] = []
    for run in range(1, runs + 1):
        report = await run_load(clients, events, duration_s=duration, client_procs=procs, seed=run)
        failed |= not report.ok
        p99s.append(report.p(99))
        print(row(run, report), flush=True)
    print()
    met = sum(p < TARGET_P99_MS for p in p99s)
    print(f"target p99 < {TARGET_P99_MS:g} ms: met in {met} of {runs} runs")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to spread over")
    parser.add_argument("--client-procs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.exit(
        asyncio.run(main(args.clients, args.events, args.duration, args.client_procs, args.runs))
    )
