"""A smaller run of the load test: many clients in another process, nothing misrouted or lost.

The full run (500 clients, 10,000 events, with latency figures) is
``benchmarks/reference_load.py``; this one checks correctness only and asserts no timing.
"""

from __future__ import annotations

from migrator.reference.loadtest import run_load


async def test_many_clients_in_another_process_get_exactly_their_own_events() -> None:
    report = await run_load(clients=60, events=1_200, duration_s=0.5, client_procs=2)
    assert report.events_received == report.events_sent == 1_200
    assert report.misrouted == 0
    assert report.out_of_order == 0
    assert report.failed_clients == 0
    assert report.dropped_connections == 0
    assert report.ok
    assert len(report.latencies_ms) == 1_200
