"""Storing usage as it arrives: each record once, by (source system, source id).

Every record is written, whatever its state: a malformed one or one for a tenant we do
not know `rejected` with the reason, a good one rated. A resend of a stored record
changes nothing and is reported as a duplicate. A malformed record is keyed by a digest
of its tenant, its source and its content (its own id may be the broken part), so the
same bad row sent twice by one sender is stored once, the same row from another tenant
or source is its own record, and a corrected resend is a new record. It is answered
under the sender's own source id when it has one, so the sender can match the rejection.

On PostgreSQL a good record is rated and debited before it is stored (`rate_rows` with
the tenant's tariff, one ledger transaction per tenant per batch), so each row is
written once, already `billed`, `accrued`, `unbilled` or `rejected` with the reason;
duplicates are found first, so nothing is debited for them. Other databases store it
`pending` and leave it to the usage.rate job, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import insert_for, is_postgresql
from billing.jobs.outbox import defer
from billing.tenants.models import Tenant
from billing.usage.bulk import KeyTaken, copy_insert, copy_new, next_ids, stored_keys
from billing.usage.events import UsageEvent
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.rating import rate_rows

RATE_JOB = "usage.rate"
_PENDING, _REJECTED = UsageStatus.PENDING.value, UsageStatus.REJECTED.value
_ATTEMPTS = 5  # batches redone after racing another over the same keys, at most
log = logging.getLogger(__name__)
_records = UsageRecord.__table__
STORED_COLUMNS = (
    "source_system", "source_id", "revision", "tenant_id", "service", "from_number",
    "to_number", "occurred_at", "started_at", "answered_at", "ended_at", "duration_s",
    "billable_s", "units", "disposition", "category", "pricing_type", "delivery_status",
    "account", "linked_id", "raw", "status", "reason", "received_at",
)  # fmt: skip
# The rating columns besides status and reason (which the stored columns carry).
RATING_COLUMNS = ("rated_at", "plan_id", "plan_version", "zone", "band", "unit",
    "billed_units", "bundle_units", "currency", "net_minor", "vat_minor", "raw_amount",
    "fx_rate", "breakdown", "ledger_transaction_id", "ledger_entry_id",
)  # fmt: skip
# Stored already rated: the row as parsed, the id (taken from the sequence first), and
# the rating's columns (its status and reason too), each from its own dict, in this order.
_PARSED_COLUMNS = tuple(name for name in STORED_COLUMNS if name not in ("status", "reason"))
RATED_COLUMNS = (*_PARSED_COLUMNS, "id", "status", "reason", *RATING_COLUMNS)


class Outcome(NamedTuple):
    """What became of one record: accepted, duplicate or rejected (stored, with why).

    A NamedTuple: one is made a record, and a frozen dataclass's `__init__` costs
    several times as much."""

    index: int
    source_id: str | None
    status: str  # accepted, updated (a message's new status), duplicate, rejected
    reason: str | None = None
    usage_id: int | None = None
    usage_status: str | None = None  # the record's as stored: billed, pending, rejected…


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


def known_tenants(session: Session, tenant_ids: Iterable[str | None]) -> set[str]:
    wanted = {tenant for tenant in tenant_ids if tenant}
    if not wanted:
        return set()
    rows = session.execute(select(Tenant.id).where(Tenant.id.in_(wanted)))
    return {row.id for row in rows}


def store(session: Session, rows: Sequence[dict], *, looked_up: bool = False) -> list[Outcome]:
    """Write new records (tenant checked), skip stored ones, and ask for them to be rated.

    `looked_up`: the caller has just found every key of `rows` not stored (as
    `lifecycle.store_messages` does), so the probe is skipped; a key stored meanwhile is
    still caught by the unique key, as a key the probe misses is."""
    if not rows:
        return []
    tenants = known_tenants(session, (row["tenant_id"] for row in rows))
    now = utcnow()
    for row in rows:
        row["received_at"] = now
        if row["status"] == _PENDING and row["tenant_id"] not in tenants:
            row["status"] = _REJECTED
            row["reason"] = "unknown_tenant"
    rated = is_postgresql(session)
    inserted = _rate_and_insert(session, rows, looked_up) if rated else None
    if inserted is None:  # not PostgreSQL, or rating failed: stored pending for the job
        rated, inserted = False, insert_new(session, rows)
    outcomes = []
    append, taken = outcomes.append, inserted.pop
    for index, row in enumerate(rows):
        usage_id = taken((row["source_system"], row["source_id"]), None)
        source_id = row.get("sender_source_id") or row["source_id"]  # the sender's own
        status, reason = row["status"], row["reason"]
        if rated and status == _PENDING:  # as rating left it
            status, reason = row.get("rated_status", status), row.get("rated_reason", reason)
        if usage_id is None:
            append(_new_tuple(Outcome, (index, source_id, "duplicate", None, None, None)))
        else:
            kind = "rejected" if status == _REJECTED else "accepted"
            append(_new_tuple(Outcome, (index, source_id, kind, reason, usage_id, status)))
    if not rated:
        pending = [o.usage_id for o in outcomes if o.status == "accepted" and o.usage_id]
        if pending:
            defer(session, RATE_JOB, min(pending), max(pending))
    return outcomes


class _Raced(Exception):
    """Another transaction stored one of our new keys between our check and our insert."""


def _rate_and_insert(
    session: Session, rows: Sequence[dict], looked_up: bool = False
) -> dict[tuple[str, str], int] | None:
    """Rate the new rows and insert every new row once, rated; their ids by key.

    In a savepoint: if a concurrent batch stored one of the keys meanwhile, the insert
    skips it, the debit would be wrong, so the savepoint is undone and the batch redone
    (the key is then found stored, a duplicate). If rating fails for any other reason
    (a lock timeout, a tariff that will not load), the savepoint is undone and None
    returned: the caller stores the rows pending for the rating job, so intake never
    loses a record because rating broke.
    """
    checked = False  # the first attempt trusts the probe (see `_stored`)
    for _attempt in range(_ATTEMPTS):
        try:
            with session.begin_nested():
                return _rate_and_insert_once(session, rows, checked, looked_up)
        except _Raced:
            checked = True
            continue
        except Exception:
            log.exception("rating at intake failed; %d records stored pending", len(rows))
            return None
    log.warning("intake raced %d times; %d records stored pending", _ATTEMPTS, len(rows))
    return None


_PROBE = 32  # keys looked up before a batch is taken to be all new


def _stored(
    session: Session, rows: Sequence[dict], checked: bool, looked_up: bool = False
) -> set[tuple[str, str]]:
    """The batch's keys already stored; unless `checked`, only as far as a probe tells.

    Looking every key up costs the server as much as a fifth of storing the rows, and a
    batch is nearly always all new: so a sample of its keys (first, last, and spread
    between) is looked up, and if none is stored the batch is taken to be new. The
    unique key still has the last word: if a key was stored after all, the COPY fails,
    the savepoint is undone (debits with it) and the batch is redone with every key
    looked up. A resent file or batch is found by the probe and never costs the redo.
    """
    if looked_up and not checked:
        return set()
    if checked:
        return stored_keys(session, list({(r["source_system"], r["source_id"]) for r in rows}))
    step = max(1, len(rows) // _PROBE)
    sample = {(r["source_system"], r["source_id"]) for r in (*rows[::step], rows[-1])}
    found = stored_keys(session, list(sample))
    if found:
        return _stored(session, rows, True)
    return found


def _rate_and_insert_once(
    session: Session, rows: Sequence[dict], checked: bool = True, looked_up: bool = False
) -> dict[tuple[str, str], int]:
    stored = _stored(session, rows, checked, looked_up)
    new: dict[tuple[str, str], dict] = {}
    for row in rows:  # the first of a key in the batch is the one stored
        key = (row["source_system"], row["source_id"])
        if key not in stored and key not in new:
            new[key] = row
    if not new:
        return {}
    ids = next_ids(session, len(new))
    fresh = list(new.values())
    waiting = UsageStatus.PENDING.value
    pending = [_new_tuple(_PendingRow, (usage_id, *_pending_fields(row)))
               for row, usage_id in zip(fresh, ids, strict=True)
               if row["status"] == waiting]  # fmt: skip

    def write(session: Session, results: Sequence[Any]) -> None:
        rated = {result.usage_id: result.fields for result in results}
        for row, usage_id in zip(fresh, ids, strict=True):  # what rating made of each
            fields = rated.get(usage_id)
            row["rated_status"] = fields["status"] if fields else row["status"]
            row["rated_reason"] = fields["reason"] if fields else row["reason"]
        try:
            copy_new(session, RATED_COLUMNS, _rated_values(fresh, ids, rated))
        except KeyTaken as error:
            raise _Raced from error

    if pending:
        rate_rows(session, pending, key=f"usage:{pending[0].id}", write=write)
    else:
        write(session, ())
    return dict(zip(new, ids, strict=True))


_parsed_values = itemgetter(*_PARSED_COLUMNS)
_rating_values = itemgetter("status", "reason", *RATING_COLUMNS)
_NOT_RATED = (None,) * len(RATING_COLUMNS)


def _rated_values(
    rows: Sequence[dict], ids: Sequence[int], rated: dict[int, dict[str, Any]]
) -> Iterator[tuple]:
    """Each row's values in `RATED_COLUMNS` order: as parsed, its id, and its rating
    (status and reason the rating's if it was rated). No merged dict a row is built."""
    for row, usage_id in zip(rows, ids, strict=True):
        fields = rated.get(usage_id)
        if fields is None:  # rejected before rating (unknown tenant, malformed)
            yield (*_parsed_values(row), usage_id, row["status"], row["reason"], *_NOT_RATED)
        else:
            yield (*_parsed_values(row), usage_id, *_rating_values(fields))


class _PendingRow(NamedTuple):
    """A row about to be stored, as `rate_rows` reads a stored one."""

    id: int
    tenant_id: str
    service: str
    to_number: str
    occurred_at: datetime
    billable_s: int
    units: int
    disposition: str
    category: str
    pricing_type: str
    answered_at: datetime | None
    source_id: str
    delivery_status: str


_pending_fields = itemgetter(*_PendingRow._fields[1:])  # all but the id
_new_tuple = tuple.__new__  # a NamedTuple from its values in order, without keywords


def insert_new(session: Session, rows: Sequence[dict]) -> dict[tuple[str, str], int]:
    """Insert, skipping keys already stored; the ids of the rows actually written."""
    if not rows:
        return {}
    if is_postgresql(session):
        return copy_insert(session, STORED_COLUMNS, rows)
    statement = (
        insert_for(session, _records)
        .on_conflict_do_nothing(
            index_elements=["source_system", "source_id", "revision", "started_at"]
        )
        .returning(_records.c.id, _records.c.source_system, _records.c.source_id)
    )
    written: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), 2000):
        chunk = [{name: row[name] for name in STORED_COLUMNS} for row in rows[start : start + 2000]]
        for found in session.execute(statement, chunk):
            written[(found.source_system, found.source_id)] = found.id
    return written
