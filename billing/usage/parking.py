"""Parking usage that cannot be rated: one tenant's bad data never stops another's.

A record the tenant's plan prices beyond what one record may be charged, or whose
rating raises where no check foresaw it, is stored `rejected` with a sentence a platform
engineer can act on, and its tenant gets one open review item (kind `usage_unrateable`)
for staff. Neither reason is retried by the sweep: the fix is a corrected plan and a
re-rate, not another pass that fails the same way every 30 seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.rating.rater import MAX_CHARGE_MINOR, OUT_OF_RANGE
from billing.tenants.models import Tenant
from billing.topups.models import ReviewItem, ReviewStatus
from billing.topups.reviews import open_item
from billing.usage.models import UsageRecord, UsageStatus

REVIEW_KIND = "usage_unrateable"
FAILED = "rating_failed"
log = logging.getLogger(__name__)
_records = UsageRecord.__table__


def out_of_range(plan_code: str, plan_version: int, currency: str) -> str:
    """The reason stored on a record its plan prices beyond `MAX_CHARGE_MINOR`."""
    return (
        f"{OUT_OF_RANGE}: plan {plan_code} version {plan_version} prices this record above "
        f"{MAX_CHARGE_MINOR:,} minor units of {currency}, the most one record may be "
        "charged; correct the plan's rates, then re-rate the tenant's period"
    )[:300]


def failed(error: BaseException) -> str:
    """The reason stored on records whose rating raised: what broke, and what to do."""
    what = f"{type(error).__name__}: {error}".replace("\n", " ")[:160]
    return (
        f"{FAILED}: rating this tenant's records raised {what}; they are parked, fix the "
        "tenant's plan or tariff, then re-rate the period"
    )[:300]


def transient(error: BaseException) -> bool:
    """A failure another attempt may not meet (a lost connection, a lock or deadlock
    timeout, a serialization failure): raised on, for the job's retry, never parked."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def park(session: Session, usage_ids: Sequence[int], tenant_id: str | None, reason: str) -> None:
    """Store the records `rejected` with `reason` and open the tenant's review item."""
    session.execute(
        update(_records)
        .where(_records.c.id.in_(list(usage_ids)))
        # pending (being rated) or rejected for a fixable reason (being retried)
        .where(_records.c.status.in_((UsageStatus.PENDING.value, UsageStatus.REJECTED.value)))
        .values(status=UsageStatus.REJECTED.value, reason=reason, rated_at=utcnow())
    )
    review(session, tenant_id, reason, usage_ids)


def review(session: Session, tenant_id: str | None, reason: str, usage_ids: Sequence[int]) -> None:
    """One open review item per tenant for unrateable usage; a second park adds none."""
    log.warning("usage of tenant %s parked (%d records): %s", tenant_id, len(usage_ids), reason)
    if tenant_id is None or session.get(Tenant, tenant_id) is None:
        return
    item = ReviewItem.__table__
    already = session.execute(
        select(item.c.id).where(
            item.c.kind == REVIEW_KIND,
            item.c.tenant_id == tenant_id,
            item.c.status == ReviewStatus.OPEN,
        )
    ).first()
    if already is None:
        open_item(
            session,
            kind=REVIEW_KIND,
            summary=f"usage of {tenant_id} cannot be rated: {reason}",
            detail={"reason": reason, "usage_ids": [int(i) for i in usage_ids[:100]]},
            tenant_id=tenant_id,
        )


def review_out_of_range(
    session: Session, rated: Sequence[tuple[str | None, int, str | None]]
) -> None:
    """A review item for each tenant whose plan priced a record out of range, from
    (tenant id, usage id, reason) of the records just rated."""
    parked: dict[str | None, tuple[str, list[int]]] = {}
    for tenant_id, usage_id, reason in rated:
        if reason is not None and reason.startswith(OUT_OF_RANGE):
            parked.setdefault(tenant_id, (reason, []))[1].append(usage_id)
    for tenant_id, (reason, usage_ids) in sorted(parked.items(), key=lambda i: i[0] or ""):
        review(session, tenant_id, reason, usage_ids)
