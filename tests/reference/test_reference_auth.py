"""Who may open an event stream: signed, expiring, single-use tokens and an Origin check."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from migrator.reference import (
    AuthenticationError,
    ConnectionTokenIssuer,
    LoopbackWebSocketServer,
    UserExecutionContext,
    WebSocketEventEmitterFactory,
    open_user_connection,
)

APP_ORIGIN = "https://app.example"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def forge_payload(token: str, **changes: Any) -> str:
    """Rewrite a token's claims, keeping its (now wrong) signature."""
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{signature}"


def test_a_token_names_its_user_and_cannot_be_altered() -> None:
    issuer = ConnectionTokenIssuer()
    token = issuer.issue("alice")
    assert issuer.verify(token).user_id == "alice"
    with pytest.raises(AuthenticationError, match="signature"):
        issuer.verify(forge_payload(token, sub="bob"))
    with pytest.raises(AuthenticationError, match="signature"):
        issuer.verify(forge_payload(token, exp=10**12))
    with pytest.raises(AuthenticationError, match="signature"):
        ConnectionTokenIssuer().verify(token)  # another server's secret
    for junk in [
        "",
        "v1",
        "v1.a.b.c",
        "v2." + token[3:],
        "v1.a.\u00e9",
        "v1.\u00e9.x",
        "x" * 5000,
        None,
        42,
    ]:
        with pytest.raises(AuthenticationError):
            issuer.verify(junk)
    assert "secret" not in repr(issuer)


def test_tokens_expire_and_open_one_connection() -> None:
    clock = Clock()
    issuer = ConnectionTokenIssuer(b"k" * 32, ttl_seconds=30, clock=clock)
    token = issuer.issue("alice")
    clock.now += 29
    assert issuer.verify(token, consume=True).user_id == "alice"
    with pytest.raises(AuthenticationError, match="already used"):
        issuer.verify(token, consume=True)
    second = issuer.issue("alice")
    clock.now += 31
    with pytest.raises(AuthenticationError, match="expired"):
        issuer.verify(second)
    with pytest.raises(ValueError, match="32"):
        ConnectionTokenIssuer(b"short")


async def refused(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pytest.fail(f"{url} was accepted")
    status: int = info.value.response.status_code
    return status


async def test_a_user_id_in_the_url_gets_nothing() -> None:
    """The issue's report: ?user_id=alice received alice's tool results."""
    async with LoopbackWebSocketServer() as server:
        assert await refused(server.url + "?user_id=alice") == 401
        assert server.connection_count("alice") == 0
        # A token of bob's does not become alice's by naming her in the URL.
        assert await refused(server.url_for("bob") + "&user_id=alice") == 401
        # A forged token, an expired one, a used one: refused the same way.
        assert (
            await refused(
                server.url + "?token=" + forge_payload(server.issue_token("bob"), sub="alice")
            )
            == 401
        )
        expired = server.issue_token("alice", ttl_seconds=0.01)
        await asyncio.sleep(0.05)
        assert await refused(f"{server.url}?token={expired}") == 401
        emitter = await WebSocketEventEmitterFactory.create_emitter(
            UserExecutionContext.from_request("alice", "thread", "run"), server
        )
        await emitter.notify_tool_completed("lookup", "alice's secret")
        assert server.events_dropped == 1  # nobody was connected as alice


async def test_a_token_opens_one_connection_for_its_own_user() -> None:
    async with LoopbackWebSocketServer() as server:
        token = server.issue_token("bob")
        async with open_user_connection(server.url, "bob", token=token) as bob:
            assert await refused(f"{server.url}?token={token}") == 401  # replayed
            alice = await WebSocketEventEmitterFactory.create_emitter(
                UserExecutionContext.from_request("alice", "thread", "run"), server
            )
            bobs = await WebSocketEventEmitterFactory.create_emitter(
                UserExecutionContext.from_request("bob", "thread", "run"), server
            )
            await alice.notify_tool_completed("lookup", "alice's secret")
            await bobs.notify_tool_completed("lookup", "bob's own")
            event = json.loads(await asyncio.wait_for(bob.recv(), timeout=5))
            assert (event["user_id"], event["payload"]["result"]) == ("bob", "bob's own")
        # The bearer header works too (for clients that can set headers).
        headers = {"Authorization": f"Bearer {server.issue_token('bob')}"}
        async with connect(server.url, additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            assert first["user_id"] == "bob"


async def test_browser_origins_are_checked_against_the_allow_list() -> None:
    async with LoopbackWebSocketServer(allowed_origins=[APP_ORIGIN]) as server:
        for origin in ["https://evil.example", "http://app.example", "null"]:
            status = await refused(server.url_for("alice"), origin=origin)
            assert status == 403, origin
        async with open_user_connection(server.url_for("alice"), "alice", origin=APP_ORIGIN):
            assert server.connection_count("alice") == 1
        # A client that is not a browser sends no Origin: allowed unless told otherwise.
        async with open_user_connection(server.url_for("alice"), "alice"):
            pass
    async with LoopbackWebSocketServer(allow_missing_origin=False) as strict:
        assert await refused(strict.url_for("alice")) == 403
