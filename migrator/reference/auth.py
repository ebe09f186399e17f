"""Signed connection tokens: who may open an event stream, and for which user.

The server side of an application (the part that already knows who is logged in) asks a
:class:`ConnectionTokenIssuer` for a token bound to that user, and hands it to the client. The
client presents it when it opens its WebSocket; the event server verifies it and serves that
user's events, and only that user's. A user id in the URL proves nothing: anybody can type
``?user_id=alice``.

A token is ``v1.<payload>.<signature>``: the payload is base64url JSON with the user id
(``sub``), the expiry (``exp``, Unix seconds) and a random ``nonce``; the signature is
HMAC-SHA256 of ``v1.<payload>`` under a server secret that never leaves the process. It cannot
be altered (another user, a later expiry) without the secret, is refused once expired, and
(through :meth:`ConnectionTokenIssuer.verify` with ``consume=True``) is good for one connection.

Example::

    issuer = ConnectionTokenIssuer(ttl_seconds=60)
    token = issuer.issue("user-1")          # in the authenticated HTTP handler
    assert issuer.verify(token).user_id == "user-1"
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from migrator.reference.context import PLACEHOLDER_IDS

__all__ = [
    "TOKEN_VERSION",
    "AuthenticationError",
    "ConnectionTokenIssuer",
    "VerifiedToken",
]

#: The prefix of every token this module issues (and the only one it accepts).
TOKEN_VERSION = "v1"
# Shorter secrets make the HMAC guessable; 32 bytes is SHA-256's block of strength.
_MIN_SECRET_BYTES = 32
# A token is well under 1 KiB; refuse anything larger before decoding it.
_MAX_TOKEN_CHARS = 2048
_MAX_USER_ID_CHARS = 256


class AuthenticationError(PermissionError):
    """A connection token is missing, malformed, forged, expired or already used.

    The message says which, without echoing the token.
    """


@dataclass(frozen=True)
class VerifiedToken:
    """What a valid token says: the user it was issued for, its expiry and its nonce."""

    user_id: str
    expires_at: float
    nonce: str


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_user_id(user_id: object) -> str:
    if (
        not isinstance(user_id, str)
        or not user_id.strip()
        or user_id != user_id.strip()
        or user_id.lower() in PLACEHOLDER_IDS
        or len(user_id) > _MAX_USER_ID_CHARS
    ):
        raise ValueError(
            f"a connection token needs a real user id (non-empty, no surrounding blanks, not a"
            f" placeholder, at most {_MAX_USER_ID_CHARS} characters), got {user_id!r}"
        )
    return user_id


class ConnectionTokenIssuer:
    """Issues and verifies connection tokens under one secret.

    Args:
        secret: at least 32 bytes; a fresh random secret when omitted (tokens then only work
            with this issuer, for the life of the process).
        ttl_seconds: how long a token stays valid after it is issued (default 60 s: long
            enough to open a connection, short enough that a leaked one is soon useless).
        clock: seconds since the epoch (``time.time``); injectable for tests.
    """

    __slots__ = ("_clock", "_secret", "_ttl", "_used")

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret is None:
            secret = secrets.token_bytes(_MIN_SECRET_BYTES)
        if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(
                f"the token secret must be at least {_MIN_SECRET_BYTES} random bytes;"
                " use secrets.token_bytes(32), kept on the server"
            )
        if not ttl_seconds > 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self._secret = secret
        self._ttl = float(ttl_seconds)
        self._clock = clock
        # nonce -> expiry of tokens already used for a connection (pruned as they expire).
        self._used: dict[str, float] = {}

    def __repr__(self) -> str:
        # Never the secret.
        return f"ConnectionTokenIssuer(ttl_seconds={self._ttl:g})"

    def _sign(self, signed_part: str) -> str:
        digest = hmac.new(self._secret, signed_part.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    def issue(self, user_id: str, *, ttl_seconds: float | None = None) -> str:
        """A token that lets one connection receive ``user_id``'s events until it expires.

        Call it only where the user is already authenticated (the application's own session).
        """
        _check_user_id(user_id)
        ttl = self._ttl if ttl_seconds is None else float(ttl_seconds)
        if not ttl > 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        claims = {"sub": user_id, "exp": self._clock() + ttl, "nonce": secrets.token_hex(16)}
        payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signed_part = f"{TOKEN_VERSION}.{payload}"
        return f"{signed_part}.{self._sign(signed_part)}"

    def verify(self, token: object, *, consume: bool = False) -> VerifiedToken:
        """Check ``token`` and return what it says.

        With ``consume=True`` the token is also marked used: a second verification of it
        fails, so one token opens one connection.

        Raises:
            AuthenticationError: missing, malformed, bad signature, expired, or already used.
        """
        if not isinstance(token, str) or not token:
            raise AuthenticationError("no connection token; ask the server for one")
        if len(token) > _MAX_TOKEN_CHARS:
            raise AuthenticationError("connection token is too long to be one of ours")
        parts = token.split(".")
        # Only ASCII is ever issued; anything else is refused before it reaches the HMAC.
        if len(parts) != 3 or parts[0] != TOKEN_VERSION or not token.isascii():
            raise AuthenticationError("connection token is malformed")
        signed_part = f"{parts[0]}.{parts[1]}"
        # Constant-time comparison: the time taken says nothing about how much matched.
        if not hmac.compare_digest(self._sign(signed_part).encode(), parts[2].encode()):
            raise AuthenticationError(
                "connection token signature is invalid (forged, altered, or from another server)"
            )
        try:
            claims = json.loads(_b64decode(parts[1]))
            user_id = _check_user_id(claims["sub"])
            expires_at = float(claims["exp"])
            nonce = str(claims["nonce"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            # Only reachable with the secret: still refused, never a traceback.
            raise AuthenticationError("connection token payload is malformed") from exc
        now = self._clock()
        if expires_at <= now:
            raise AuthenticationError("connection token has expired; ask the server for a new one")
        if consume:
            self._forget_expired(now)
            if nonce in self._used:
                raise AuthenticationError(
                    "connection token was already used; each connection needs a new one"
                )
            self._used[nonce] = expires_at
        return VerifiedToken(user_id, expires_at, nonce)

    def _forget_expired(self, now: float) -> None:
        expired = [nonce for nonce, expiry in self._used.items() if expiry <= now]
        for nonce in expired:
            del self._used[nonce]
