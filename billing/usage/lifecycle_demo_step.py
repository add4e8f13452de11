"""The `billing demo` step for issue 19's usage: a WhatsApp message's statuses charged
once, and a call's authorisation held until its CDR settles it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Call = Callable[..., dict]


def lifecycle_step(
    call: Call, admin_key: str, tenant_key: str, tenant_id: str, say: Callable[[str], None]
) -> None:
    wamid = f"wamid.{uuid.uuid4().hex[:16]}"
    now = datetime.now(UTC).isoformat()
    message = {
        "source_system": "demo-wa", "source_id": wamid, "tenant_id": tenant_id,
        "channel": "whatsapp", "category": "marketing", "recipient": "0754 000 222",
        "sent_at": now,
    }  # fmt: skip
    for statuses in (["sent"], ["delivered"], ["read", "delivered"]):
        body = {"records": [{**message, "status": s} for s in statuses]}
        answer = call("POST", "/v1/usage/messages", admin_key, body, quiet=True)
        outcomes = ", ".join(
            f"{s} {r['status']}" for s, r in zip(statuses, answer["results"], strict=True)
        )
        item = _message(call, tenant_key, wamid)
        say(f"  WhatsApp {wamid[:14]}…: {outcomes} → record {item['id']}, {item['status']},"
            f" net {item['net'] / 100:,.2f}")  # fmt: skip
    session = f"call-{uuid.uuid4().hex[:12]}"
    ask = {"tenant_id": tenant_id, "service": "voice", "destination": "0754 000 111",
           "session_id": session, "seconds": 300}  # fmt: skip
    held = call("POST", "/v1/authorize", admin_key, ask, quiet=True)
    wallet = call("GET", "/v1/wallet", tenant_key, quiet=True)
    say(f"  authorise a call (session {session}): {held['max_seconds']} s held,"
        f" wallet {wallet['balance'] / 100:,.2f}, reserved {wallet['reserved'] / 100:,.2f},"
        f" available {wallet['available'] / 100:,.2f}")  # fmt: skip
    record = {"source_id": session, "tenant_id": tenant_id, "callee": "0754 000 111",
              "started_at": now, "answered_at": now, "duration_s": 95, "billsec_s": 90,
              "disposition": "ANSWERED"}  # fmt: skip
    call("POST", "/v1/usage/cdrs", admin_key, {"records": [record]}, quiet=True)
    wallet = call("GET", "/v1/wallet", tenant_key, quiet=True)
    page = call("GET", "/v1/usage?service=voice&limit=1", tenant_key, quiet=True)
    rated = page["items"][0]
    say(f"  its CDR (90 s, {rated['bundle_units'] or 0} s from the bundle) rated at net"
        f" {(rated['net'] or 0) / 100:,.2f}: the hold settled, wallet"
        f" {wallet['balance'] / 100:,.2f}, reserved {wallet['reserved'] / 100:,.2f}")  # fmt: skip


def _message(call: Call, tenant_key: str, wamid: str) -> dict:
    """The message's current record (a new status that changed it is a new record)."""
    page = call("GET", "/v1/usage?service=whatsapp&limit=50", tenant_key, quiet=True)
    return next(i for i in page["items"] if i["source_id"] == wamid)
