"""Benchmark: event delivery latency over loopback WebSockets with 100 connected users.

Run from a checkout: ``python benchmarks/reference_events.py [--users 100] [--rounds 100]``.

The server side (a :class:`LoopbackWebSocketServer` and one request-scoped emitter per user)
runs in this process; the 100 clients run in a child process, each on its own real WebSocket
connection to 127.0.0.1, as a browser tab would. Latency is measured from just before
``emitter.emit(...)`` is called to just after the client has received and decoded the event
(both sides read ``time.time_ns()``, the same clock on one machine), so it covers building the
event, JSON encoding, the socket, and JSON decoding.

Two load shapes, each ``rounds`` events per user:

- ``burst``: in every round all users emit at the same instant (the worst case: the last of the
  100 events waits for the 99 before it), then a 10 ms pause;
- ``spread``: the same number of events, each user at its own random moments, ``--rate``
  events per second per user (default 20: a user whose agent runs ten tools a second).

The clients also check isolation: every event a client receives must name its own user.
This is a benchmark, not a test: it prints numbers (and exits non-zero only if events were lost
or misrouted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migrator.reference import (
    LoopbackWebSocketServer,
    UserExecutionContext,
    WebSocketEventEmitter,
    WebSocketEventEmitterFactory,
    open_user_connection,
)
from migrator.reference.loadtest import percentile

ROUND_PAUSE_S = 0.010


# -- client process -----------------------------------------------------------------------


async def clients(url: str, first: int, users: int, expected: int, tokens: list[str]) -> None:
    latencies_ms: list[float] = []
    misrouted = 0
    received = [0] * users

    async def client(user: int, ready: asyncio.Event, connected: list[int]) -> None:
        nonlocal misrouted
        user_id = f"bench-user-{first + user}"
        async with open_user_connection(url, user_id, token=tokens[user]) as ws:
            connected[0] += 1
            if connected[0] == users:
                ready.set()
            while received[user] < expected:
                message = await ws.recv()
                now = time.time_ns()
                event = json.loads(message)
                if event["user_id"] != user_id:
                    misrouted += 1
                received[user] += 1
                latencies_ms.append((now - event["payload"]["sent_ns"]) / 1e6)

    ready = asyncio.Event()
    connected = [0]
    tasks = [asyncio.create_task(client(u, ready, connected)) for u in range(users)]
    await ready.wait()
    print("READY", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"latencies_ms": latencies_ms, "misrouted": misrouted, "received": received}))


# -- server process -----------------------------------------------------------------------


async def emit_timed(emitter: WebSocketEventEmitter, round_no: int) -> None:
    await emitter.emit("benchmark", {"sent_ns": time.time_ns(), "round": round_no})


async def burst(emitters: list[WebSocketEventEmitter], rounds: int) -> float:
    """Emit the bursts; return the server's own time per event, in microseconds."""
    busy_ns = 0
    for round_no in range(rounds):
        start = time.perf_counter_ns()
        await asyncio.gather(*(emit_timed(e, round_no) for e in emitters))
        busy_ns += time.perf_counter_ns() - start
        await asyncio.sleep(ROUND_PAUSE_S)
    return busy_ns / 1000 / (rounds * len(emitters))


async def spread(emitters: list[WebSocketEventEmitter], rounds: int, rate: float) -> None:
    rng = random.Random(1)
    duration = rounds / rate

    async def one_user(emitter: WebSocketEventEmitter) -> None:
        moments = sorted(rng.uniform(0, duration) for _ in range(rounds))
        start = time.monotonic()
        for round_no, moment in enumerate(moments):
            await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
            await emit_timed(emitter, round_no)

    await asyncio.gather(*(one_user(e) for e in emitters))


async def measure(shape: str, users: int, rounds: int, procs: int, rate: float) -> dict[str, Any]:
    async with LoopbackWebSocketServer() as server:
        children = []
        for p in range(procs):
            first, last = users * p // procs, users * (p + 1) // procs
            children.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--client",
                    server.url,
                    "--first",
                    str(first),
                    "--users",
                    str(last - first),
                    "--rounds",
                    str(rounds),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
            # One signed connection token per user, issued here (the server side) and handed
            # to the client process, as an application's login handler would.
            tokens = [server.issue_token(f"bench-user-{u}") for u in range(first, last)]
            stdin = children[-1].stdin
            assert stdin is not None
            stdin.write(json.dumps(tokens).encode() + b"\n")
            await stdin.drain()
        for child in children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
            if line.strip() != b"READY":
                raise RuntimeError(f"client process failed to start: {line!r}")
        emitters = [
            await WebSocketEventEmitterFactory.create_emitter(
                UserExecutionContext.from_request(f"bench-user-{u}", "thread", "run"), server
            )
            for u in range(users)
        ]
        server_us = None
        if shape == "burst":
            server_us = await burst(emitters, rounds)
        else:
            await spread(emitters, rounds, rate)
        outputs = [(await asyncio.wait_for(c.communicate(), timeout=60))[0] for c in children]
    parts = [json.loads(output) for output in outputs]
    return {
        "latencies_ms": [x for part in parts for x in part["latencies_ms"]],
        "misrouted": sum(part["misrouted"] for part in parts),
        "dropped": server.events_dropped,
        "server_us": server_us,
    }


async def main(users: int, rounds: int, procs: int, rate: float) -> int:
    print(f"Python {sys.version.split()[0]}; {users} users on real loopback WebSocket connections")
    print(
        f"clients in {procs} separate process(es), {os.cpu_count()} CPUs;"
        " latency from emit() to decoded on the client, in ms"
    )
    print()
    header = f"{'load':>7} {'events':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    print(header + f" {'misrouted':>9} {'lost':>5}")
    print("-" * (len(header) + 16))
    failed = False
    server_us = 0.0
    for shape in ("burst", "spread"):
        r = await measure(shape, users, rounds, procs, rate)
        lat = r["latencies_ms"]
        lost = users * rounds - len(lat)
        failed |= bool(r["misrouted"] or lost or r["dropped"])
        server_us = r["server_us"] or server_us
        print(
            f"{shape:>7} {len(lat):>7} {percentile(lat, 50):>7.2f} {percentile(lat, 90):>7.2f} "
            f"{percentile(lat, 99):>7.2f} {max(lat):>7.2f} {r['misrouted']:>9} {lost:>5}"
        )
    print()
    print(
        f"burst: all {users} users emit at the same instant, {rounds} times,"
        f" {ROUND_PAUSE_S * 1000:.0f} ms apart ({users / ROUND_PAUSE_S:,.0f} events/s in bursts)."
    )
    print(
        f"spread: {rounds} events per user at random moments, {rate:g} events/s per user"
        f" ({users * rate:,.0f} events/s in all)."
    )
    print(
        f"server time per event in a burst (emit, JSON, send): {server_us:.1f} us,"
        f" so the last of {users} events leaves the server {server_us * users / 1000:.1f} ms"
        " after the first"
    )
    print("target: p99 < 5 ms")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100, help="events per user per load shape")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="events per second per user in the spread load"
    )
    parser.add_argument(
        "--client-procs", type=int, default=1, help="processes the simulated clients run in"
    )
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        tokens = json.loads(sys.stdin.readline())
        asyncio.run(clients(args.client, args.first, args.users, args.rounds, tokens))
    else:
        sys.exit(asyncio.run(main(args.users, args.rounds, args.client_procs, args.rate)))
