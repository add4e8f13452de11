"""The callback inbox: every provider callback is stored before it is acted on.

A verified callback is one row per fact (provider + the adapter's dedupe key);
repeats only count `deliveries`, so 200 copies of one callback make one row and one
reconciliation. A forged or malformed request is kept too, as evidence, and never
applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import DATABASE_UNAVAILABLE, insert_for
from billing.core.metrics import CALLBACKS
from billing.jobs.outbox import defer
from billing.topups import spool
from billing.topups.gateways import simulator_for
from billing.topups.inbox_writer import RECONCILE_JOB, Callback
from billing.topups.models import CallbackDelivery, InboxStatus
from providers.base import CallbackAck, CallbackEvent, InvalidCallback

if TYPE_CHECKING:
    from billing.runtime import Runtime

_inbox = CallbackDelivery.__table__


def receive(
    runtime: Runtime,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_addr: str | None,
) -> CallbackAck:
    """Verify, store, and answer in the provider's own format; reconcile after commit.

    Each path commits its own write: a rejected request is kept whatever the answer.
    """
    adapter = runtime.gateways.adapter(provider)
    family = simulator_for(adapter.code)
    received_at = utcnow()
    CALLBACKS.labels(family, "received").inc()
    try:
        event = adapter.parse_callback(headers, body, remote_addr)
    except InvalidCallback as error:
        CALLBACKS.labels(family, "rejected").inc()
        with runtime.unit_of_work() as session:
            session.execute(
                _inbox.insert().values(
                    provider=family,
                    remote_addr=remote_addr,
                    headers=evidence_headers(headers),
                    body=body,
                    received_at=received_at,
                    status=InboxStatus.REJECTED,
                    error=str(error),
                    deliveries=1,
                )
            )
        refusal = adapter.callback_ack(None, ok=False)
        # Some operators read a 5xx as "try again": a forgery must not be retried.
        return dataclasses.replace(refusal, status_code=400)
    callback = Callback(
        provider=family,
        dedupe_key=fact_key(event, body),
        remote_addr=remote_addr,
        headers=evidence_headers(headers),
        body=body,
        received_at=received_at,
        event=event_record(event),
    )
    CALLBACKS.labels(family, "verified").inc()
    try:
        store(runtime, callback)
    except DATABASE_UNAVAILABLE:
        # Operators drop what fails: keep it on disk and acknowledge; if even that fails,
        # the operator's own "retry" answer.
        return adapter.callback_ack(event, ok=spool.keep(runtime.settings, callback))
    return adapter.callback_ack(event, ok=True)


def store(runtime: Runtime, callback: Callback) -> None:
    """Commit a verified callback to the inbox (and its reconciliation to the outbox)."""
    if runtime.inbox_writer is not None:  # PostgreSQL: group commit
        runtime.inbox_writer.store(callback)
    else:
        with runtime.unit_of_work() as session:
            _store(session, callback)


def _store(session: Session, callback: Callback) -> None:
    stored = session.execute(
        insert_for(session, _inbox)
        .values(**dataclasses.asdict(callback), status=InboxStatus.RECEIVED, deliveries=1)
        .on_conflict_do_update(
            index_elements=["provider", "dedupe_key"],
            set_={"deliveries": _inbox.c.deliveries + 1},
        )
        .returning(_inbox.c.id, _inbox.c.deliveries)
    ).one()
    if stored.deliveries == 1:
        defer(session, RECONCILE_JOB, stored.id, dedupe_key=f"{RECONCILE_JOB}:{stored.id}")


# Credentials a caller presents: kept as evidence by their digest, never in clear.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def evidence_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's headers as stored: a credential is replaced by its SHA-256 prefix,
    enough to tell two deliveries' credentials apart, useless to replay."""
    return {
        name: (
            f"[redacted sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}]"
            if name.lower() in _SECRET_HEADERS
            else value
        )
        for name, value in headers.items()
    }


def fact_key(event: CallbackEvent, body: bytes) -> str:
    """The fact and the exact body: byte-identical redeliveries fold into one row, while a
    body that differs (a forgery reusing a real receipt number, say) is kept as its own
    row, reconciled on its own and seen by a person if it contradicts the top-up."""
    fact = event.dedupe_key
    if len(fact) > 160:  # the ids in it are the caller's to choose: keep the key in bounds
        fact = "sha256:" + hashlib.sha256(fact.encode()).hexdigest()
    return f"{fact}#{hashlib.sha256(body).hexdigest()[:16]}"


def event_record(event: CallbackEvent) -> dict[str, Any]:
    """The verified event as JSON, so reconciliation never re-verifies an old signature."""
    record = {name: getattr(event, name) for name in _EVENT_FIELDS}  # all plain values
    record["status"] = event.status.value
    record["proof"] = event.proof.value
    record["received_at"] = event.received_at.isoformat()
    record["raw"] = None  # the raw body is stored beside it
    return record


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(CallbackEvent) if f.name != "raw")
