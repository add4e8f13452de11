"""Reading an inbound callback safely: raw bytes in, a JSON object or InvalidCallback out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from providers.allowlist import SourceAllowList
from providers.base import InvalidCallback
from providers.transport import decode_json

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        body = decode_json(raw_body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidCallback(f"callback body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise InvalidCallback("callback body is not a JSON object")
    return body


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup: frameworks and proxies disagree on header case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_source(allow: SourceAllowList, remote_addr: str | None) -> None:
    if not allow.allows(remote_addr):
        raise InvalidCallback(f"callback from {remote_addr!r} is not on the allow-list")


def require_text(body: Mapping[str, Any], *keys: str) -> None:
    missing = [key for key in keys if body.get(key) in (None, "")]
    if missing:
        raise InvalidCallback(f"callback lacks {', '.join(missing)}")
