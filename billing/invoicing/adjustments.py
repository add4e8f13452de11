"""Usage adjustments on drafts: what a finalised invoice should have billed, billed next.

Re-rating (an increase) and rating (late usage) leave them pending (`billing.usage.
adjustments`, where usage may write them); the tenant's next postpaid draft (of a later
period) bills them, a line per kind, period, service and zone. Finalising that invoice
takes them off the accrued total with the invoice's net (`billing.invoicing.books`).
Voiding that draft leaves them pending for the next one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.invoicing.sources import DraftLine, item_id_for
from billing.usage.models import AdjustmentKind, UsageAdjustment

_TITLES = {
    AdjustmentKind.RERATE: ("RERATE", "Re-rating"),
    AdjustmentKind.LATE: ("LATE", "Late usage"),
}


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


def lines_for(adjustments: list[UsageAdjustment]) -> list[DraftLine]:
    """`Re-rating of 2026-10: Voice calls, TZ-MOB-YAS`, `Late usage of 2026-10: …`: one
    unit of the amount, one line however many adjustments of that kind, period, service
    and zone (a credit note tells lines apart by their text)."""
    amounts: dict[tuple[str, str], int] = defaultdict(int)
    what: dict[tuple[str, str], dict[str, str]] = {}
    for adjustment in adjustments:  # in id order: lines in order of their first adjustment
        key = line_of(adjustment)
        amounts[key] += adjustment.amount_minor
        what[key] = {
            "service": adjustment.service,
            "zone": adjustment.zone,
            "adjustment": AdjustmentKind(adjustment.kind).value,
            "adjusts_month": f"{adjustment.period_start:%Y-%m}",
        }
    return [
        DraftLine(item_id, description, Decimal(1), "", amount, **what[(item_id, description)])
        for (item_id, description), amount in amounts.items()
    ]


def line_of(adjustment: UsageAdjustment) -> tuple[str, str]:
    """The (item id, description) of the line that bills it."""
    code, title = _TITLES[AdjustmentKind(adjustment.kind)]
    return (
        item_id_for(f"{code}-{adjustment.service}", adjustment.zone),
        f"{title} of {adjustment.period_start:%Y-%m}: {adjustment.description}",
    )
