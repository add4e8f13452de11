"""The callback inbox: every provider callback is stored before it is acted on.

A verified callback is one row per fact (provider + the adapter's dedupe key);
repeats only count `deliveries`, so 200 copies of one callback make one row and one
reconciliation. A forged or malformed request is kept too, as evidence, and never
applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Json
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import insert_for, is_postgresql
from billing.jobs.outbox import SESSION_KEY, defer
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
    store = _store_in_one_statement if is_postgresql(session) else _store
    store(session, {**evidence, "dedupe_key": event.dedupe_key, "event": event_record(event)})
    return adapter.callback_ack(event, ok=True)


# The inbox row and, for a first delivery, its reconcile job, in one statement: on
# PostgreSQL a callback costs one round trip (and, in autocommit, no BEGIN or COMMIT).
# Plain SQL: the hottest statement in Malipo skips SQLAlchemy's compilation.
_STORE = """
WITH stored AS (
    INSERT INTO callback_inbox
        (provider, remote_addr, headers, body, received_at, dedupe_key, status, event,
         deliveries)
    VALUES (%(provider)s, %(remote_addr)s, %(headers)s, %(body)s, %(received_at)s,
            %(dedupe_key)s, 'received', %(event)s, 1)
    ON CONFLICT (provider, dedupe_key)
        DO UPDATE SET deliveries = callback_inbox.deliveries + 1
    RETURNING id, deliveries
), queued AS (
    INSERT INTO outbox (job, args, queue, dedupe_key, created_at, attempts)
    SELECT %(job)s::varchar, json_build_array(id), 'default', %(job)s::varchar || ':' || id,
           %(received_at)s, 0
      FROM stored
     WHERE deliveries = 1
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT (SELECT id FROM queued)
"""
RECONCILE_JOB = "topups.reconcile"


def _store_in_one_statement(session: Session, row: dict[str, Any]) -> None:
    params = {
        **row,
        "headers": Json(row["headers"]),
        "event": Json(row["event"]),
        "job": RECONCILE_JOB,
    }
    outbox_id = session.connection().exec_driver_sql(_STORE, params).scalar()
    if outbox_id is not None:
        session.info.setdefault(SESSION_KEY, []).append(outbox_id)


def _store(session: Session, row: dict[str, Any]) -> None:
    stored = session.execute(
        insert_for(session, _inbox)
        .values(**row, status=InboxStatus.RECEIVED, deliveries=1)
        .on_conflict_do_update(
            index_elements=["provider", "dedupe_key"],
            set_={"deliveries": _inbox.c.deliveries + 1},
        )
        .returning(_inbox.c.id, _inbox.c.deliveries)
    ).one()
    if stored.deliveries == 1:
        defer(session, RECONCILE_JOB, stored.id, dedupe_key=f"{RECONCILE_JOB}:{stored.id}")


def event_record(event: CallbackEvent) -> dict[str, Any]:
    """The verified event as JSON, so reconciliation never re-verifies an old signature."""
    record = {name: getattr(event, name) for name in _EVENT_FIELDS}  # all plain values
    record["status"] = event.status.value
    record["received_at"] = event.received_at.isoformat()
    record["raw"] = None  # the raw body is stored beside it
    return record


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(CallbackEvent) if f.name != "raw")
