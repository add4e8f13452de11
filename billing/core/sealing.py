"""Secrets at rest: seal a value before it is stored, unseal it when it is used.

Provider credentials and TOTP secrets are kept sealed in the database, so a copy of the
database (a backup, a replica, a dump handed to support) does not hold them in clear.
The keys come from the environment, never from the database: `MALIPO_SEAL_KEYS`, a
comma-separated list of Fernet keys, newest first. New values are sealed with the
newest key; any listed key unseals, so a key is rotated by putting a new one in front,
running `reseal` over the stored values, then removing the old one.

Fernet is AES-128-CBC with HMAC-SHA256 (authenticated): a tampered value does not
unseal. Without configured keys (local development, tests) a key derived from a fixed
development secret is used; live start refuses that (see `live_checks`).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV_KEYS = "MALIPO_SEAL_KEYS"
_DEVELOPMENT_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"malipo development seal").digest())


class SealBroken(Exception):
    """A sealed value no configured key opens: tampered, or sealed under a removed key."""


def keys_from(env: Mapping[str, str] = os.environ) -> list[bytes]:
    """The configured keys, newest first; the development key when none are."""
    listed = [key.strip().encode() for key in env.get(ENV_KEYS, "").split(",") if key.strip()]
    return listed or [_DEVELOPMENT_KEY]


def uses_development_key(env: Mapping[str, str] = os.environ) -> bool:
    return keys_from(env) == [_DEVELOPMENT_KEY]


def new_key() -> str:
    """A fresh key to put in front of `MALIPO_SEAL_KEYS`."""
    return Fernet.generate_key().decode()


def _box(env: Mapping[str, str] = os.environ) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys_from(env)])


def seal(plaintext: str, env: Mapping[str, str] = os.environ) -> str:
    return _box(env).encrypt(plaintext.encode()).decode()


def unseal(sealed: str, env: Mapping[str, str] = os.environ) -> str:
    try:
        return _box(env).decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise SealBroken("no configured key opens this value") from error


def reseal(sealed: str, env: Mapping[str, str] = os.environ) -> str:
    """The same value sealed under the newest key (for rotation)."""
    try:
        return _box(env).rotate(sealed.encode()).decode()
    except InvalidToken as error:
        raise SealBroken("no configured key opens this value") from error
