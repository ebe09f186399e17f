"""Load test of the loopback event server, with the clients in another process.

:func:`run_load` starts a :class:`~migrator.reference.loopback.LoopbackWebSocketServer` in this
process, issues one connection token per user, and starts a child process (this module, run
with ``--client``) that opens one real WebSocket connection per user. It then emits ``events`` events, spread over the users, each at
a random moment, through one request-scoped emitter per user. Every client checks that each
event it receives names its own user (in the stamped ``user_id`` *and* in the payload, which
the server never looks at), that sequence numbers have no gap or repeat, and records the
latency from just before ``emit()`` to the decoded event (``time.time_ns()`` on both sides: one
clock on one machine).

``benchmarks/reference_load.py`` runs it at 500 clients and 10,000 events and prints the
numbers; ``tests/reference/test_reference_load.py`` runs a smaller one and checks that nothing
was misrouted or lost (it asserts no timing).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.reference.context import UserExecutionContext
from migrator.reference.events import WebSocketEventEmitter, WebSocketEventEmitterFactory
from migrator.reference.loopback import LoopbackWebSocketServer, open_user_connection

__all__ = ["LoadReport", "percentile", "run_load"]

#: Type of the data events of a load run, and of the marker that ends each user's stream.
LOAD_EVENT = "load_event"
LOAD_DONE = "load_done"
# How long a client process waits for its events before it reports what it has.
_CLIENT_DEADLINE_S = 300.0


def percentile(values: list[float] | tuple[float, ...], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class LoadReport:
    """What a load run saw, from the clients' side."""

    clients: int
    events_sent: int
    events_received: int
    misrouted: int
    out_of_order: int
    failed_clients: int
    dropped_connections: int
    latencies_ms: tuple[float, ...]
    duration_s: float

    @property
    def lost(self) -> int:
        """Events sent that no client received."""
        return self.events_sent - self.events_received

    @property
    def ok(self) -> bool:
        """Nothing misrouted, lost, out of order, failed or dropped."""
        return not (
            self.misrouted
            or self.lost
            or self.out_of_order
            or self.failed_clients
            or self.dropped_connections
        )

    def p(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies_ms, q)


def _user_id(index: int) -> str:
    return f"load-user-{index:05d}"


# -- client process -----------------------------------------------------------------------


async def _client(
    url: str, user_id: str, token: str, ready: asyncio.Queue[str], out: dict[str, Any]
) -> None:
    async with open_user_connection(url, user_id, token=token) as ws:
        await ready.put(user_id)
        expected_sequence = 1
        while True:
            message = await ws.recv()
            now = time.time_ns()
            event = json.loads(message)
            if event.get("user_id") != user_id or event["payload"].get("for") != user_id:
                out["misrouted"] += 1
            if event.get("sequence") != expected_sequence:
                out["out_of_order"] += 1
            expected_sequence = int(event.get("sequence", expected_sequence)) + 1
            if event.get("type") == LOAD_DONE:
                return
            out["received"] += 1
            out["latencies_ms"].append((now - int(event["payload"]["sent_ns"])) / 1e6)


async def _clients_main(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"received": 0, "misrouted": 0, "out_of_order": 0, "latencies_ms": []}
    ready: asyncio.Queue[str] = asyncio.Queue()
    url = spec["url"]
    tasks = [
        asyncio.create_task(_client(url, user_id, token, ready, out))
        for user_id, token in spec["tokens"]
    ]
    for _ in tasks:
        await ready.get()
    print("READY", flush=True)
    done, pending = await asyncio.wait(tasks, timeout=_CLIENT_DEADLINE_S)
    for task in pending:
        task.cancel()
    out["failed_clients"] = len(pending) + sum(1 for t in done if t.exception() is not None)
    return out


def _client_process_main() -> int:
    spec = json.loads(sys.stdin.readline())
    result = asyncio.run(_clients_main(spec))
    print(json.dumps(result), flush=True)
    return 0


# -- server side ----------------------------------------------------------------------------


async def _emit_spread(
    emitters: list[WebSocketEventEmitter], counts: list[int], duration_s: float, seed: int
) -> None:
    rng = random.Random(seed)
    start = time.monotonic()

    async def one_user(emitter: WebSocketEventEmitter, count: int) -> None:
        moments = sorted(rng.uniform(0, duration_s) for _ in range(count))
        for number, moment in enumerate(moments):
            delay = start + moment - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await emitter.emit(
                LOAD_EVENT, {"for": emitter.user_id, "n": number, "sent_ns": time.time_ns()}
            )

    await asyncio.gather(*(one_user(e, n) for e, n in zip(emitters, counts, strict=True)))


async def run_load(
    clients: int = 500,
    events: int = 10_000,
    *,
    duration_s: float = 10.0,
    client_procs: int = 1,
    seed: int = 1,
) -> LoadReport:
    """Run one load test (see the module docstring) and return what the clients saw."""
    if clients < 1 or events < 0 or client_procs < 1:
        raise ValueError("clients and client_procs must be at least 1, events at least 0")
    users = [_user_id(i) for i in range(clients)]
    # Spread the events as evenly as possible: every user gets events // clients, some one more.
    counts = [events // clients + (1 if i < events % clients else 0) for i in range(clients)]
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    # Generous limits: this measures routing and latency, and a client process that the OS
    # leaves unscheduled for a few seconds must not count as a slow client.
    async with LoopbackWebSocketServer(max_queued_events=100_000, send_timeout=60.0) as server:
        children: list[asyncio.subprocess.Process] = []
        try:
            for p in range(client_procs):
                share = users[clients * p // client_procs : clients * (p + 1) // client_procs]
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "migrator.reference.loadtest",
                    "--client",
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env,
                )
                assert child.stdin is not None
                spec = {"url": server.url, "tokens": [[u, server.issue_token(u)] for u in share]}
                child.stdin.write(json.dumps(spec).encode() + b"\n")
                await child.stdin.drain()
                children.append(child)
            for child in children:
                assert child.stdout is not None
                line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
                if line.strip() != b"READY":
                    raise RuntimeError(f"a client process failed to start: {line!r}")
            emitters = [
                await WebSocketEventEmitterFactory.create_emitter(
                    UserExecutionContext.from_request(u, f"thread-{u}", f"run-{u}"), server
                )
                for u in users
            ]
            started = time.monotonic()
            await _emit_spread(emitters, counts, duration_s, seed)
            for emitter in emitters:
                await emitter.emit(LOAD_DONE, {"for": emitter.user_id})
            outputs = [
                (await asyncio.wait_for(c.communicate(), timeout=_CLIENT_DEADLINE_S))[0]
                for c in children
            ]
            elapsed = time.monotonic() - started
        finally:
            for child in children:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
    parts = [json.loads(output.decode().strip().splitlines()[-1]) for output in outputs]
    return LoadReport(
        clients=clients,
        events_sent=events,
        events_received=sum(part["received"] for part in parts),
        misrouted=sum(part["misrouted"] for part in parts),
        out_of_order=sum(part["out_of_order"] for part in parts),
        failed_clients=sum(part["failed_clients"] for part in parts),
        dropped_connections=len(server.dropped_connections),
        latencies_ms=tuple(x for part in parts for x in part["latencies_ms"]),
        duration_s=elapsed,
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--client"]:
        sys.exit("usage: python -m migrator.reference.loadtest --client (spawned by run_load)")
    sys.exit(_client_process_main())
