"""API key material: `mlp_<prefix>_<secret>`, shown once, stored as SHA-256.

SHA-256 (not a slow password hash) is right here: the secret is 256 random bits,
so there is nothing to brute-force, and every request must verify one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_FORMAT = re.compile(r"mlp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    prefix: str
    secret: str

    @property
    def token(self) -> str:
        return f"mlp_{self.prefix}_{self.secret}"

    @property
    def secret_sha256(self) -> str:
        return digest(self.secret)


def generate() -> KeyMaterial:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(12))
    return KeyMaterial(prefix, secrets.token_urlsafe(32))


def parse(token: str) -> KeyMaterial | None:
    match = _FORMAT.fullmatch(token)
    return KeyMaterial(match[1], match[2]) if match else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_sha256)
