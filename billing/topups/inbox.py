"""The callback inbox: every provider callback is stored before it is acted on.

A verified callback is one row per fact (provider + the adapter's dedupe key);
repeats only count `deliveries`, so 200 copies of one callback make one row and one
reconciliation. A forged or malformed request is kept too, as evidence, and never
applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.jobs.outbox import defer
from billing.topups.gateways import Gateways, simulator_for
from billing.topups.models import CallbackDelivery, InboxStatus
from providers.base import CallbackAck, CallbackEvent, InvalidCallback

_inbox = CallbackDelivery.__table__


def receive(
    session: Session,
    gateways: Gateways,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
) -> CallbackAck:
    """Verify, store, and answer in the provider's own format; reconcile after commit."""
    adapter = gateways.adapter(provider)
    family = simulator_for(adapter.code)
    evidence = {
        "provider": family,
        "remote_addr": remote_addr,
        "headers": dict(headers),
        "body": body,
        "received_at": utcnow(),
    }
    try:
        event = adapter.parse_callback(headers, body, remote_addr)
    except InvalidCallback as error:
        session.execute(
            _inbox.insert().values(
                **evidence, status=InboxStatus.REJECTED, error=str(error), deliveries=1
            )
        )
        refusal = adapter.callback_ack(None, ok=False)
        # Some operators read a 5xx as "try again": a forgery must not be retried.
        return dataclasses.replace(refusal, status_code=400)
    row = session.execute(
        insert_for(session, _inbox)
        .values(
            **evidence,
            dedupe_key=event.dedupe_key,
            status=InboxStatus.RECEIVED,
            event=event_record(event),
            deliveries=1,
        )
        .on_conflict_do_update(
            index_elements=["provider", "dedupe_key"],
            set_={"deliveries": _inbox.c.deliveries + 1},
        )
        .returning(_inbox.c.id, _inbox.c.deliveries)
    ).one()
    if row.deliveries == 1:
        defer(session, "topups.reconcile", row.id, dedupe_key=f"topups.reconcile:{row.id}")
    return adapter.callback_ack(event, ok=True)


def event_record(event: CallbackEvent) -> dict[str, Any]:
    """The verified event as JSON, so reconciliation never re-verifies an old signature."""
    record = asdict(event)
    record["status"] = event.status.value
    record["received_at"] = event.received_at.isoformat()
    record["raw"] = None  # the raw body is stored beside it
    return record
