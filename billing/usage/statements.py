"""What an invoice needs from usage: the period's lines and its annex (the contract).

The invoicing code calls these functions; beyond them it uses only re-rating, the
accrued total of usage and the pending usage adjustments (`adjustments`). A period is
`[start, end)` in whole days of Africa/Dar_es_Salaam, the zone Tanzanian invoices are
dated in; a record belongs to the day it occurred (answer time, else start). Only rated
postpaid usage counts (`accrued`): prepaid usage was paid from the wallet, and a re-rated
row's replacement stands in for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.usage.models import UsageRecord, UsageStatus

INVOICE_ZONE = ZoneInfo("Africa/Dar_es_Salaam")
_records = UsageRecord.__table__
_SERVICE_NAMES = {
    "voice": "Voice calls",
    "sms": "SMS",
    "whatsapp": "WhatsApp messages",
    "ai_agent_minutes": "AI agent minutes",
    "recording_minutes": "Call recording",
    "number_rental": "Number rental",
}
# How a line counts what its rows billed: seconds are invoiced as minutes.
_LINE_UNITS = {"second": ("minute", 60)}


@dataclass(frozen=True)
class UsageLine:
    service: str
    zone: str
    description: str
    quantity: Decimal
    unit: str
    net_minor: int
    currency: str


@dataclass(frozen=True)
class UsageAnnexRow:
    occurred_at: datetime
    service: str
    destination: str
    zone: str
    billed_units: int
    unit: str
    net_minor: int
    usage_id: str


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight at `start` and at `end` (exclusive)."""
    if end <= start:
        raise ValueError("a period ends after it starts")
    return (
        datetime.combine(start, time(0), INVOICE_ZONE).astimezone(UTC),
        datetime.combine(end, time(0), INVOICE_ZONE).astimezone(UTC),
    )


def _in_period(tenant_id: str, start: date, end: date):
    since, until = period_bounds(start, end)
    return (
        _records.c.tenant_id == tenant_id,
        _records.c.status == UsageStatus.ACCRUED.value,
        _records.c.occurred_at >= since,
        _records.c.occurred_at < until,
    )


def line_description(service: str, zone: str) -> str:
    """`Voice calls, TZ-MOB-YAS`: how an invoice names a service to a zone."""
    return f"{_SERVICE_NAMES.get(service, service)}, {zone}"


def period_lines(session: Session, tenant_id: str, start: date, end: date) -> list[UsageLine]:
    """Rated postpaid usage of the period, one line per service, zone, unit and currency."""
    query = (
        select(
            _records.c.service,
            _records.c.zone,
            _records.c.unit,
            _records.c.currency,
            func.sum(_records.c.billed_units).label("units"),
            func.sum(_records.c.net_minor).label("net"),
        )
        .where(*_in_period(tenant_id, start, end))
        .group_by(_records.c.service, _records.c.zone, _records.c.unit, _records.c.currency)
        .order_by(_records.c.service, _records.c.zone, _records.c.unit, _records.c.currency)
    )
    lines = []
    for row in session.execute(query):
        unit, per = _LINE_UNITS.get(row.unit, (row.unit, 1))
        quantity = (Decimal(int(row.units)) / per).quantize(Decimal("0.01"), ROUND_HALF_UP)
        lines.append(
            UsageLine(
                service=row.service,
                zone=row.zone,
                description=line_description(row.service, row.zone),
                quantity=quantity,
                unit=unit,
                net_minor=int(row.net),
                currency=row.currency,
            )
        )
    return lines


def period_annex(
    session: Session, tenant_id: str, start: date, end: date
) -> Iterator[UsageAnnexRow]:
    """Each billed record of the period, oldest first, streamed (a month can be millions)."""
    query = (
        select(
            _records.c.id,
            _records.c.occurred_at,
            _records.c.service,
            _records.c.to_number,
            _records.c.zone,
            _records.c.billed_units,
            _records.c.unit,
            _records.c.net_minor,
        )
        .where(*_in_period(tenant_id, start, end), _records.c.billed_units > 0)
        .order_by(_records.c.occurred_at, _records.c.id)
        .execution_options(yield_per=2000)
    )
    for row in session.execute(query):
        yield UsageAnnexRow(
            occurred_at=row.occurred_at,
            service=row.service,
            destination=row.to_number,
            zone=row.zone,
            billed_units=int(row.billed_units),
            unit=row.unit,
            net_minor=int(row.net_minor),
            usage_id=str(row.id),
        )
