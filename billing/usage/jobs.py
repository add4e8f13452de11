"""Usage jobs: rate what was stored, and retry what could not be rated or paid.

Both take ids (or a tenant id), claim rows with SKIP LOCKED in their own transaction,
and leave nothing half-done: a second run finds the rows no longer waiting.
"""

from __future__ import annotations

import logging

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.jobs import shutdown
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.runtime import current
from billing.usage.isolation import rate_apart
from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.rating import RATE_COLUMNS
from billing.usage.retries import retry_each, retry_waiting

BATCH = 10_000  # rows per transaction: one ledger transaction per tenant per batch
log = logging.getLogger(__name__)
_records = UsageRecord.__table__


def claim_pending(session: Session, first_id: int, last_id: int, limit: int) -> list[Row]:
    query = (
        select(*RATE_COLUMNS)
        .where(
            _records.c.id >= first_id,
            _records.c.id <= last_id,
            _records.c.status == UsageStatus.PENDING.value,
        )
        .order_by(_records.c.id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()  # fetchall: one round of row fetching, not one a row


@job("usage.rate")
def rate(first_id: int, last_id: int) -> int:
    """Rate the pending records with ids in [first_id, last_id]; how many were rated."""
    runtime = current()
    done = 0
    while True:
        with runtime.unit_of_work() as session:
            rows = claim_pending(session, first_id, last_id, BATCH)
            if not rows:
                return done
            rate_apart(session, rows, prefix="usage")
            if shutdown.requested() and rows[-1].id < last_id:
                # The worker is stopping: hand the rest back, with this batch's commit.
                defer(session, "usage.rate", rows[-1].id + 1, last_id)
                log.info("usage.rate stopping: ids %d..%d handed back", rows[-1].id + 1, last_id)
                return done + len(rows)
        done += len(rows)


@job("usage.retry")
def retry(tenant_id: str | None = None) -> dict[str, int]:
    """Re-rate retryable rejects and settle unbilled prepaid usage (after a top-up).

    Without a tenant, every tenant with work waiting, each in its own transaction: one
    tenant's failure is logged and reviewed, and the others go on."""
    runtime = current()
    if tenant_id is None:
        counts = retry_each(runtime.unit_of_work)
    else:
        with runtime.unit_of_work() as session:
            counts = retry_waiting(session, tenant_id)
    if counts:
        log.info("usage retry for %s: %s", tenant_id or "every tenant", counts)
    return counts
