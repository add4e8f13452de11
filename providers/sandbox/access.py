"""Sandbox access tokens and session ids that any process can check.

`billing serve` hosts the simulators while `billing worker` also calls them, and a token
issued by one server process may come back to another; an HMAC-signed token needs no
shared store. The key is public on purpose: nothing here guards real money.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_SIGNING_KEY = b"malipo-sandbox-not-a-secret"
LIFETIME_S = 3600


def issue(realm: str) -> str:
    """A fresh token for one simulator (`realm`), e.g. `mpesa-session`."""
    nonce = secrets.token_hex(12)
    return f"{nonce}{_mac(realm, nonce)}"


def is_valid(realm: str, token: str | None) -> bool:
    if not token or len(token) != 48:
        return False
    nonce, mac = token[:24], token[24:]
    return hmac.compare_digest(mac, _mac(realm, nonce))


def _mac(realm: str, nonce: str) -> str:
    return hmac.new(_SIGNING_KEY, f"{realm}:{nonce}".encode(), hashlib.sha256).hexdigest()[:24]


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, any case of `bearer`."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
