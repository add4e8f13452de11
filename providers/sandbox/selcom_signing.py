"""Selcom's HS256 request signing, from the operator's side: check ours, sign its webhooks.

Digest = base64(HMAC-SHA256(api_secret, "timestamp=<ts>&k1=v1&…")) over the fields named
in Signed-Fields, in that order (providers.md §5, the official selcom-apigw client).
Written apart from the adapter's signing module so that each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

EAT = timezone(timedelta(hours=3), "EAT")
MAX_SKEW = timedelta(minutes=15)


def local_now() -> datetime:
    """Selcom runs on East Africa Time and writes its timestamps with `+0300`."""
    return datetime.now(UTC).astimezone(EAT)


def _digest(api_secret: str, timestamp: str, fields: Mapping[str, Any], names: list[str]) -> str:
    message = "&".join([f"timestamp={timestamp}", *(f"{name}={fields[name]}" for name in names)])
    mac = hmac.new(api_secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _authorization(api_key: str) -> str:
    return "SELCOM " + base64.b64encode(api_key.encode()).decode()


def sign(fields: Mapping[str, Any], api_key: str, api_secret: str, now: datetime) -> dict[str, str]:
    """Headers for a webhook signed over every field it carries, in body order."""
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S%z")
    names = list(fields)
    return {
        "Content-Type": "application/json",
        "Authorization": _authorization(api_key),
        "Digest-Method": "HS256",
        "Digest": _digest(api_secret, timestamp, fields, names),
        "Timestamp": timestamp,
        "Signed-Fields": ",".join(names),
    }


def check_request(
    headers: Mapping[str, str], fields: Mapping[str, Any], api_key: str, api_secret: str
) -> str | None:
    """Why Selcom would refuse this request's signature, or None if it holds."""
    if headers.get("Authorization") != _authorization(api_key):
        return "Invalid API key"
    if headers.get("Digest-Method") != "HS256":
        return "Digest-Method must be HS256"
    timestamp = headers.get("Timestamp") or ""
    names = [name for name in (headers.get("Signed-Fields") or "").split(",") if name]
    if not timestamp or not names or not headers.get("Digest"):
        return "Digest, Timestamp and Signed-Fields are required"
    if sorted(names) != sorted(fields):
        return "Signed-Fields must name every field of the request"
    if not hmac.compare_digest(_digest(api_secret, timestamp, fields, names), headers["Digest"]):
        return "Invalid digest"
    return _skew_problem(timestamp)


def _skew_problem(timestamp: str) -> str | None:
    try:
        sent = datetime.fromisoformat(timestamp)
    except ValueError:
        return "Unreadable Timestamp"
    if sent.tzinfo is None:
        return "Timestamp needs a time zone"
    if abs(datetime.now(UTC) - sent) > MAX_SKEW:
        return "Timestamp is too far from now"
    return None
