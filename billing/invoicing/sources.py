"""What a postpaid invoice bills: rated usage of the period, by service and zone.

The rating side owns the figures (`billing.usage.statements`); this module only turns
its lines into invoice lines and its annex rows into the PDF's annex.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class DraftLine:
    item_id: str
    description: str  # English; a document names the line in its own language from:
    quantity: Decimal
    unit: str
    amount_minor: int  # net
    service: str | None = None
    zone: str | None = None
    adjustment: str | None = None  # "rerate", "late": of an earlier month's usage
    adjusts_month: str | None = None  # YYYY-MM


@dataclass(frozen=True, slots=True)
class AnnexLine:
    occurred_at: datetime
    service: str
    destination: str
    zone: str
    billed_units: int
    unit: str
    net_minor: int


def item_id_for(service: str, zone: str) -> str:
    """A usage line's item id: `VOICE-TZ-MOB-YAS`."""
    return f"{service}-{zone}".upper()[:60]


def postpaid_lines(
    session: Session, tenant_id: str, start: date, end: date, currency: str
) -> list[DraftLine]:
    """One line per service and destination zone of the tenant's rated usage."""
    from billing.usage.statements import period_lines

    lines = []
    for usage in period_lines(session, tenant_id, start, end):
        if usage.currency != currency:
            raise InvalidInput.on("tenant_id", f"usage in {usage.currency} on a {currency} account")
        if usage.net_minor == 0:
            continue
        lines.append(
            DraftLine(
                item_id=item_id_for(usage.service, usage.zone),
                description=usage.description,
                quantity=usage.quantity,
                unit=usage.unit,
                amount_minor=usage.net_minor,
                service=usage.service,
                zone=usage.zone,
            )
        )
    return lines


def postpaid_annex(session: Session, tenant_id: str, start: date, end: date) -> Iterator[AnnexLine]:
    from billing.usage.statements import period_annex

    for row in period_annex(session, tenant_id, start, end):
        yield AnnexLine(
            row.occurred_at,
            row.service,
            row.destination,
            row.zone,
            row.billed_units,
            row.unit,
            row.net_minor,
        )
