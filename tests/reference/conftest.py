"""Shared fixtures of the reference implementation's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from migrator.reference import LoopbackWebSocketServer, reset_legacy_global


@pytest.fixture(autouse=True)
def _fresh_legacy_global() -> Iterator[None]:
    # The legacy dispatcher is process-wide by design; reset it so tests cannot leak into
    # each other through it (the very leak some of them demonstrate).
    reset_legacy_global()
    yield
    reset_legacy_global()


@pytest.fixture
async def loopback_server() -> AsyncIterator[LoopbackWebSocketServer]:
    async with LoopbackWebSocketServer() as server:
        yield server
