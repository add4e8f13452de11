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

import logging
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import insert_for, is_postgresql
from billing.jobs.outbox import defer
from billing.runtime import Runtime
from billing.usage.bulk import copy_insert
from billing.usage.intake_rows import STORED_COLUMNS, event_row, malformed_row
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.prepricing import Prepriced, preprice
from billing.usage.rated_insert import rate_and_insert
from billing.usage.rating import tenants_by_id

__all__ = ["STORED_COLUMNS", "Outcome", "event_row", "insert_new", "malformed_row", "store"]
RATE_JOB = "usage.rate"
log = logging.getLogger(__name__)
_PENDING, _REJECTED = UsageStatus.PENDING.value, UsageStatus.REJECTED.value
_records = UsageRecord.__table__
_new_tuple = tuple.__new__  # a NamedTuple from its values in order, without keywords


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


def store(
    session: Session,
    rows: Sequence[dict],
    *,
    looked_up: bool = False,
    prepriced: Prepriced | None = None,
) -> list[Outcome]:
    """Write new records (tenant checked), skip stored ones, and ask for them to be rated.

    `looked_up`: the caller has just found every key of `rows` not stored (as
    `lifecycle.store_messages` does), so the probe is skipped; a key stored meanwhile is
    still caught by the unique key, as a key the probe misses is. `prepriced`: what
    `prepare` priced of these rows ahead of this transaction."""
    if not rows:
        return []
    # Loaded once: the check here and the rating below (`rate_rows`) share them.
    tenants = tenants_by_id(session, {row["tenant_id"] for row in rows if row["tenant_id"]})
    now = utcnow()
    for row in rows:
        row["received_at"] = now
        if row["status"] == _PENDING and row["tenant_id"] not in tenants:
            row["status"] = _REJECTED
            row["reason"] = "unknown_tenant"
    rated = is_postgresql(session)
    inserted = rate_and_insert(session, rows, looked_up, tenants, prepriced) if rated else None
    if inserted is None:  # not PostgreSQL, or rating failed: stored pending for the job
        rated, inserted = False, insert_new(session, rows)
    outcomes = []
    append, taken = outcomes.append, inserted.pop
    for index, row in enumerate(rows):
        usage_id = taken((row["source_system"], row["source_id"]), None)
        source_id = row.get("sender_source_id") or row["source_id"]  # the sender's own
        status, reason = row["status"], row["reason"]
        if rated and status == _PENDING and (settled := row.get("rated")) is not None:
            status, reason = settled["status"], settled["reason"]  # as rating left it
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


def prepare(runtime: Runtime, rows: Sequence[dict]) -> Prepriced | None:
    """What of `rows` can be priced before their own transaction, priced, in a short
    transaction of its own (see `billing.usage.prepricing`); None if that failed, or not
    on PostgreSQL: `store` then prices every row itself, as always."""
    if not rows:
        return None
    try:
        with runtime.sessions() as session, session.begin():
            if not is_postgresql(session):
                return None
            tenant_ids = {row["tenant_id"] for row in rows if row["tenant_id"]}
            return preprice(session, rows, tenants_by_id(session, tenant_ids))
    except Exception as error:  # whatever it was, the chunk's own transaction meets it again
        log.warning("pricing ahead failed (%r); the chunk is priced as it is stored", error)
        return None


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
