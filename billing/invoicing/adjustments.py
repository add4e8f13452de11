"""Usage adjustments: what re-rating found a finalised invoice under-billed.

A finalised invoice is never edited, so the increase waits as a pending adjustment and
the tenant's next postpaid draft (of a later period) bills each one as its own line.
While pending it is exposure like accrued usage, so it is counted in the accrued total;
finalising the invoice that bills it takes it off again with the invoice's net
(`billing.invoicing.books`). Voiding that draft leaves it pending for the next one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.invoicing.models import Invoice, UsageAdjustment
from billing.invoicing.sources import DraftLine
from billing.usage.accruals import add_accrued


def add_pending(
    session: Session,
    corrected: Invoice,
    service: str,
    zone: str,
    description: str,
    amount_minor: int,
    period: tuple[date, date],
) -> UsageAdjustment:
    """An increase of `amount_minor` (net) found re-rating `period` of the finalised
    `corrected` invoice."""
    adjustment = UsageAdjustment(
        tenant_id=corrected.tenant_id,
        currency=corrected.currency,
        service=service,
        zone=zone,
        description=description,
        amount_minor=amount_minor,
        period_start=period[0],
        period_end=period[1],
        source_invoice_id=corrected.id,
    )
    session.add(adjustment)
    add_accrued(session, corrected.tenant_id, corrected.currency, amount_minor)
    return adjustment


def billable(session: Session, tenant_id: str, currency: str, start: date) -> list[UsageAdjustment]:
    """The pending adjustments a draft starting at `start` bills, locked (racing drafts
    queue here and find them billed)."""
    query = (
        select(UsageAdjustment)
        .where(
            UsageAdjustment.tenant_id == tenant_id,
            UsageAdjustment.currency == currency,
            UsageAdjustment.invoice_id.is_(None),
            UsageAdjustment.period_end <= start,
        )
        .order_by(UsageAdjustment.id)
        .with_for_update()
    )
    return list(session.execute(query).scalars())


def billed_by(session: Session, invoice_id: str) -> list[UsageAdjustment]:
    query = select(UsageAdjustment).where(UsageAdjustment.invoice_id == invoice_id)
    return list(session.execute(query.order_by(UsageAdjustment.id)).scalars())


def mark_billed(adjustments: list[UsageAdjustment], invoice_id: str) -> None:
    for adjustment in adjustments:
        adjustment.invoice_id = invoice_id


def release(session: Session, invoice_id: str) -> None:
    """The draft that billed them was voided: pending again."""
    session.execute(
        update(UsageAdjustment)
        .where(UsageAdjustment.invoice_id == invoice_id)
        .values(invoice_id=None)
        .execution_options(synchronize_session="fetch")
    )


def line_for(adjustment: UsageAdjustment) -> DraftLine:
    """`Re-rating of 2026-10: Voice calls, TZ-MOB-YAS`, one unit of the amount."""
    return DraftLine(
        item_id=f"RERATE-{adjustment.service}-{adjustment.zone}".upper()[:60],
        description=f"Re-rating of {adjustment.period_start:%Y-%m}: {adjustment.description}",
        quantity=Decimal(1),
        unit="",
        amount_minor=adjustment.amount_minor,
    )
