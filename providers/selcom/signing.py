"""Selcom's HS256 request signing, for our requests and for its webhooks.

Digest = base64(HMAC-SHA256(api_secret, "timestamp=<ts>&k1=v1&k2=v2...")) over the
fields named in Signed-Fields, in order (selcom-apigw-client-python, the official client).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from providers.base import InvalidCallback
from providers.inbound import header

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def digest(api_secret: str, timestamp: str, fields: Iterable[tuple[str, Any]]) -> str:
    message = "&".join([f"timestamp={timestamp}", *(f"{k}={v}" for k, v in fields)])
    mac = hmac.new(api_secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def signed_headers(
    api_key: str, api_secret: str, data: Mapping[str, Any], now: datetime
) -> dict[str, str]:
    timestamp = now.strftime(TIMESTAMP_FORMAT)
    return {
        "Content-Type": "application/json",
        "Authorization": authorization(api_key),
        "Digest-Method": "HS256",
        "Digest": digest(api_secret, timestamp, data.items()),
        "Timestamp": timestamp,
        "Signed-Fields": ",".join(data),
    }


def authorization(api_key: str) -> str:
    return "SELCOM " + base64.b64encode(api_key.encode()).decode()


def verify(
    headers: Mapping[str, str],
    body: Mapping[str, Any],
    *,
    api_key: str,
    api_secret: str,
    must_sign: Iterable[str],
    now: datetime,
    max_skew_s: float | None,
) -> None:
    """Raise InvalidCallback unless the webhook carries our API key's Authorization and
    the body's fields we rely on carry a valid digest."""
    given = header(headers, "Digest")
    timestamp = header(headers, "Timestamp")
    names = [n.strip() for n in (header(headers, "Signed-Fields") or "").split(",") if n.strip()]
    if not given or not timestamp or not names:
        raise InvalidCallback("webhook is not signed (Digest, Timestamp, Signed-Fields)")
    if (header(headers, "Digest-Method") or "HS256").upper() != "HS256":
        raise InvalidCallback("unsupported Digest-Method")
    unsigned = [name for name in must_sign if name in body and name not in names]
    if unsigned:
        raise InvalidCallback(f"webhook fields {unsigned} are not covered by the signature")
    missing = [name for name in names if name not in body]
    if missing:
        raise InvalidCallback(f"signed fields {missing} are not in the body")
    expected = digest(api_secret, timestamp, ((name, body[name]) for name in names))
    if not hmac.compare_digest(expected, given):
        raise InvalidCallback("webhook digest does not match")
    given_authorization = header(headers, "Authorization") or ""
    if not hmac.compare_digest(given_authorization.encode(), authorization(api_key).encode()):
        raise InvalidCallback("webhook Authorization is missing or is not our API key's")
    _check_skew(timestamp, now, max_skew_s)


def _check_skew(timestamp: str, now: datetime, max_skew_s: float | None) -> None:
    if max_skew_s is None:
        return
    sent = _parse_timestamp(timestamp)
    if abs((now - sent).total_seconds()) > max_skew_s:
        raise InvalidCallback("webhook timestamp is too far from now (replay?)")


def _parse_timestamp(timestamp: str) -> datetime:
    """Selcom writes `+0300`; Python 3.11's fromisoformat reads that and `+03:00`."""
    try:
        sent = datetime.fromisoformat(timestamp)
    except ValueError:
        raise InvalidCallback(f"unreadable webhook timestamp {timestamp!r}") from None
    if sent.tzinfo is None:
        raise InvalidCallback("webhook timestamp has no time zone")
    return sent
