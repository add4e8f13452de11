"""Public identifiers: a type prefix and a time-ordered, unguessable body.

`ten_01JD3…` reads as a tenant in logs and support tickets, sorts by creation
time like a ULID, and carries 80 random bits so ids cannot be enumerated.
"""

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"
