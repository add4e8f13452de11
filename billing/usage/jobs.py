"""Usage jobs: rate what was stored, and retry what could not be rated or paid.

Both take ids (or a tenant id), claim rows with SKIP LOCKED in their own transaction,
and leave nothing half-done: a second run finds the rows no longer waiting.
"""

from __future__ import annotations

import logging

from billing.jobs.registry import job
from billing.runtime import current
from billing.usage.isolation import rate_apart
from billing.usage.rating import claim_pending
from billing.usage.retries import retry_each, retry_waiting

BATCH = 10_000  # rows per transaction: one ledger transaction per tenant per batch
log = logging.getLogger(__name__)


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
