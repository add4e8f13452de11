"""Records left waiting: rejects that may rate now, and prepaid usage the wallet owed.

A reject for an unknown tenant, a missing plan, rate or FX rate is rated again as it
stands (malformed ones are not: their content is wrong). An `unbilled` record keeps its
price and is only settled again, once the wallet has the money. A record still `pending`
a minute after it arrived (its worker died, or its job spent its retries) is rated here
too; SKIP LOCKED keeps it from a job that is still rating it.

Without a tenant, the sweep goes tenant by tenant (`retry_each`), each in its own
transaction (or savepoint): a tenant whose retry fails is logged and reviewed, and the
other tenants' work goes on. Rating itself parks a tenant whose rows cannot be rated
(`billing.usage.isolation`), so the failure is not met again on the next pass.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta

from sqlalchemy import Row, Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql, written
from billing.tenants.models import Tenant
from billing.usage.isolation import rate_apart
from billing.usage.models import RETRYABLE_REASONS, UsageRecord, UsageStatus
from billing.usage.parking import failed, review
from billing.usage.rating import (
    RATE_COLUMNS,
    tenants_by_id,
)
from billing.usage.settling import RowResult, after_settling, settle_prepaid

LIMIT = 5_000
STALE_AFTER = timedelta(seconds=60)  # a job killed with its worker waits longer in RQ
_records = UsageRecord.__table__
log = logging.getLogger(__name__)


def _waiting(session: Session, columns, status: UsageStatus, tenant_id: str | None):
    query = waiting_query(columns, status, tenant_id)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


def waiting_query(columns, status: UsageStatus, tenant_id: str | None) -> Select:
    """The oldest records of `status` to retry (stale pending, fixable rejects, unbilled),
    by `ix_usage_records_waiting`: the status is written in the SQL, which a generic plan
    needs to use that index (`billing.core.db.written`), rather than walk every record."""
    query = (
        select(*columns)
        .where(_records.c.status == written(status.value))
        .order_by(_records.c.id)
        .limit(LIMIT)
    )
    if status is UsageStatus.REJECTED:
        query = query.where(_records.c.reason.in_(sorted(RETRYABLE_REASONS)))
    if status is UsageStatus.PENDING:
        query = query.where(_records.c.received_at < utcnow() - STALE_AFTER)
    if tenant_id is not None:
        query = query.where(_records.c.tenant_id == tenant_id)
    return query


def retry_waiting(session: Session, tenant_id: str | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    stale = _waiting(session, RATE_COLUMNS, UsageStatus.PENDING, tenant_id)
    if stale:
        for status, count in rate_apart(session, stale, prefix="usage-stale").items():
            counts[f"pending→{status}"] = count
    rejected = _waiting(session, RATE_COLUMNS, UsageStatus.REJECTED, tenant_id)
    if rejected:
        for status, count in rate_apart(session, rejected, prefix="usage-retry").items():
            counts[f"rejected→{status}"] = count
    unbilled = _waiting(
        session,
        (_records.c.id, _records.c.tenant_id, _records.c.net_minor, _records.c.vat_minor),
        UsageStatus.UNBILLED,
        tenant_id,
    )
    if unbilled:
        for status, count in settle_unbilled(session, unbilled).items():
            counts[f"unbilled→{status}"] = count
    return counts


def waiting_tenants(session: Session) -> list[str]:
    """The known tenants with records waiting: stale pending, fixable rejects, unbilled."""
    status = _records.c.status
    waiting = or_(
        and_(
            status == written(UsageStatus.PENDING.value),
            _records.c.received_at < utcnow() - STALE_AFTER,
        ),
        and_(
            status == written(UsageStatus.REJECTED.value),
            _records.c.reason.in_(sorted(RETRYABLE_REASONS)),
        ),
        status == written(UsageStatus.UNBILLED.value),
    )
    query = (
        select(_records.c.tenant_id)
        .join(Tenant.__table__, Tenant.__table__.c.id == _records.c.tenant_id)
        .where(waiting)
        .distinct()
        .order_by(_records.c.tenant_id)
    )
    return list(session.execute(query).scalars())


Scope = Callable[[], AbstractContextManager[Session]]


def retry_each(scope: Scope) -> dict[str, int]:
    """`retry_waiting` for every tenant with work waiting, each in its own `scope` (a
    transaction, or a savepoint); a tenant that fails is counted, logged and reviewed."""
    with scope() as session:
        tenants = waiting_tenants(session)
    counts: Counter[str] = Counter()
    for tenant_id in tenants:
        try:
            with scope() as session:
                counts.update(retry_waiting(session, tenant_id))
        except Exception as error:
            log.exception("usage retry for tenant %s failed; the others go on", tenant_id)
            counts["tenants_failed"] += 1
            try:
                with scope() as session:
                    review(session, tenant_id, failed(error), [])
            except Exception:
                log.exception("could not open a review item for tenant %s", tenant_id)
    return dict(counts)


def savepoints(session: Session) -> Scope:
    """A `Scope` of savepoints in one session's transaction (an API request's)."""

    @contextmanager
    def scope() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return scope


def settle_unbilled(session: Session, rows: list[Row]) -> dict[str, int]:
    by_tenant: dict[str, list[RowResult]] = defaultdict(list)
    for row in rows:
        fields = {"net_minor": row.net_minor, "vat_minor": row.vat_minor}
        by_tenant[row.tenant_id].append(RowResult(row.id, fields))
    tenants = tenants_by_id(session, set(by_tenant))
    settled = {  # in tenant order, as the rating job locks wallets
        tenant_id: settle_prepaid(
            session,
            tenants[tenant_id],
            by_tenant[tenant_id],
            key=f"usage-unbilled:{by_tenant[tenant_id][0].usage_id}",
        )
        for tenant_id in sorted(by_tenant)
    }
    results = [result for group in by_tenant.values() for result in group]
    paid = [r for r in results if r.fields["status"] == UsageStatus.BILLED.value]
    if paid:
        session.execute(
            update(_records)
            .where(_records.c.id == bindparam("b_id"))
            .values(
                status=UsageStatus.BILLED.value,
                reason=None,
                ledger_transaction_id=bindparam("b_txn"),
                ledger_entry_id=bindparam("b_entry"),
            ),
            [
                {
                    "b_id": r.usage_id,
                    "b_txn": r.fields.get("ledger_transaction_id"),
                    "b_entry": r.fields.get("ledger_entry_id"),
                }
                for r in paid
            ],
            execution_options={"synchronize_session": False},
        )
    # The flag counts only what this pass still could not pay.
    after_settling(session, settled)
    counts = {"billed": len(paid), "unbilled": len(results) - len(paid)}
    return {status: count for status, count in counts.items() if count}
