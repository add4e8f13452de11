"""A usage row as stored, before rating: made of a parsed event, or of a record we could
not read (kept rejected, with its content and why). Rows are dicts keyed by
`STORED_COLUMNS`; `intake.store` writes them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from billing.core.clock import utcnow
from billing.usage.events import UsageEvent
from billing.usage.models import UsageStatus

STORED_COLUMNS = (
    "source_system", "source_id", "revision", "tenant_id", "service", "from_number",
    "to_number", "occurred_at", "started_at", "answered_at", "ended_at", "duration_s",
    "billable_s", "units", "disposition", "category", "pricing_type", "delivery_status",
    "account", "linked_id", "raw", "status", "reason", "received_at",
)  # fmt: skip


def event_row(event: UsageEvent, tenant_id: str | None, delivery_status: str = "") -> dict:
    occurred = event.answered_at or event.started_at
    return {
        "source_system": event.source_system,
        "source_id": event.source_id,
        "revision": 0,
        "tenant_id": tenant_id or None,
        "service": event.service.value,
        "from_number": event.from_number[:40],
        "to_number": event.to_number[:40],
        "occurred_at": occurred,
        "started_at": event.started_at,
        "answered_at": event.answered_at,
        "ended_at": event.ended_at,
        "duration_s": event.duration_s,
        "billable_s": event.billable_s,
        "units": event.units,
        "disposition": event.disposition.value,
        "category": event.category,
        "pricing_type": event.pricing_type,
        "delivery_status": delivery_status,
        "account": event.account[:80],
        "linked_id": event.linked_id[:200],
        "raw": None,
        "status": UsageStatus.PENDING.value,
        "reason": None,
        "received_at": None,
    }


def malformed_row(
    source_system: str,
    reason: str,
    raw: Any,
    tenant_id: str | None = None,
    sender_source_id: Any = None,
) -> dict:
    """A record we could not read, kept with its content and why (a sentence)."""
    tenant_id = tenant_id if isinstance(tenant_id, str) else None
    scoped = [tenant_id, source_system, raw]
    text = json.dumps(scoped, sort_keys=True, default=str).encode("utf-8", "backslashreplace")
    digest = hashlib.sha256(text).hexdigest()[:32]
    now = utcnow()
    row = dict.fromkeys(STORED_COLUMNS)
    row.update(
        source_system=source_system,
        source_id=f"malformed:{digest}",
        sender_source_id=sender_source_id if isinstance(sender_source_id, str) else None,
        revision=0,
        tenant_id=tenant_id,
        service="unknown",
        from_number="",
        to_number="",
        occurred_at=now,
        started_at=now,
        duration_s=0,
        billable_s=0,
        units=0,
        disposition="",
        category="",
        pricing_type="",
        delivery_status="",
        account="",
        linked_id="",
        raw={"content": raw},
        status=UsageStatus.REJECTED.value,
        reason=f"malformed: {reason}"[:300],
    )
    return row
