"""The event as the platform receives it: one JSON shape, the same bytes on every retry."""

from __future__ import annotations

import json
from typing import Any

from billing.events.models import PlatformEvent


def payload(event: PlatformEvent) -> dict[str, Any]:
    """`{"id", "type", "created_at", "tenant_id", "data"}`; `created_at` is RFC 3339 UTC."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": event.tenant_id,
        "data": event.data,
    }


def body(event: PlatformEvent) -> bytes:
    """Compact JSON built from the stored row only, so a retry signs identical bytes."""
    return json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False).encode()
