"""Standard Webhooks signatures: how Malipo signs what it sends, and how a receiver checks it.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}` over the body's raw
bytes, so a receiver must verify before parsing. The id is the event's, the same on
every retry (the receiver's dedup key); the timestamp is the attempt's, so a replayed
old request falls outside the tolerance. Pure: no I/O, no clock unless not given one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

WHSEC_PREFIX = "whsec_"
VERSION = "v1"
TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The request did not come, unaltered and recently, from a holder of the secret."""


def secret_bytes(secret: str | bytes) -> bytes:
    """`whsec_<base64>` as Standard Webhooks prints it, or the raw secret itself."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(WHSEC_PREFIX):
        encoded = secret.removeprefix(WHSEC_PREFIX)
        # Unpadded base64 is accepted, as the reference library accepts it.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    return secret.encode()


def sign(msg_id: str, timestamp: int, body: bytes, secret: str | bytes) -> str:
    """One `v1,<base64>` signature of the message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def headers(
    msg_id: str, body: bytes, secret: str | bytes, now: int | None = None
) -> dict[str, str]:
    """The three headers a signed request carries."""
    timestamp = int(time.time()) if now is None else now
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secret),
    }


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | bytes,
    tolerance_s: int = TOLERANCE_S,
    now: int | None = None,
) -> None:
    """Raise `WebhookVerificationError` unless one of the signatures matches.

    Several space-separated signatures are accepted so that a sender can sign with the
    old and the new secret while a rotation is under way.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not raw_timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, -timestamp or -signature header")
    timestamp = _timestamp(raw_timestamp, tolerance_s, now)
    raw_body = body.encode() if isinstance(body, str) else body
    expected = sign(msg_id, timestamp, raw_body, secret)
    for candidate in signatures.split():
        if candidate.partition(",")[0] != VERSION:
            continue
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return
    raise WebhookVerificationError("no matching signature")


def _timestamp(raw: str, tolerance_s: int, now: int | None) -> int:
    try:
        timestamp = int(raw)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    return timestamp
