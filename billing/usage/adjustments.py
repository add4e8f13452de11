"""Pending usage adjustments: usage a finalised postpaid invoice should have billed.

Re-rating finds some (an increase in a period already invoiced), rating finds others
(usage of such a period rated late, `billing.usage.late`). A finalised invoice is never
edited, so each waits here until the tenant's next postpaid draft bills it
(`billing.invoicing.adjustments`). While pending it is exposure like accrued usage, so
it is counted in the accrued total; finalising the invoice that bills it takes it off
again with the invoice's net.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.usage.accruals import add_accrued
from billing.usage.models import AdjustmentKind, UsageAdjustment


def add_pending(
    session: Session,
    *,
    kind: AdjustmentKind,
    source_invoice_id: str,
    tenant_id: str,
    currency: str,
    service: str,
    zone: str,
    description: str,
    amount_minor: int,
    period: tuple[date, date],
) -> UsageAdjustment:
    """`amount_minor` (net, > 0) of `period`, which the finalised `source_invoice_id`
    billed without it; added to the accrued total here, and only here."""
    adjustment = UsageAdjustment(
        kind=kind,
        tenant_id=tenant_id,
        currency=currency,
        service=service,
        zone=zone,
        description=description,
        amount_minor=amount_minor,
        period_start=period[0],
        period_end=period[1],
        source_invoice_id=source_invoice_id,
    )
    session.add(adjustment)
    add_accrued(session, tenant_id, currency, amount_minor)
    return adjustment


def take_back_pending(
    session: Session,
    *,
    source_invoice_id: str,
    service: str,
    zone: str,
    amount_minor: int,
    drafts: Collection[str] = (),
) -> int:
    """A decrease of `amount_minor` found re-rating usage of the finalised
    `source_invoice_id`: taken off its adjustments of that service and zone not invoiced
    yet (pending, or on one of the `drafts`, locked by the caller, who rebuilds them)
    first, newest first (one taken back whole is removed), and off the accrued total
    with them. How much was taken back; the rest is for credit notes."""
    query = (
        select(UsageAdjustment)
        .where(
            UsageAdjustment.source_invoice_id == source_invoice_id,
            UsageAdjustment.service == service,
            UsageAdjustment.zone == zone,
            or_(UsageAdjustment.invoice_id.is_(None), UsageAdjustment.invoice_id.in_(drafts)),
        )
        .order_by(UsageAdjustment.id.desc())
        .with_for_update()  # a draft billing them waits, or has them and they are not pending
    )
    taken = 0
    for adjustment in session.execute(query).scalars():
        take = min(adjustment.amount_minor, amount_minor - taken)
        if take == adjustment.amount_minor:
            session.delete(adjustment)
        else:
            adjustment.amount_minor -= take
        add_accrued(session, adjustment.tenant_id, adjustment.currency, -take)
        taken += take
        if taken == amount_minor:
            break
    return taken
