"""GET /v1/usage: a tenant's records, newest first, with totals over the whole filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billing.usage.models import UsageRecord, UsageStatus
from billing.usage.statements import period_bounds

_records = UsageRecord.__table__


@dataclass(frozen=True)
class UsageFilter:
    tenant_id: str | None  # None: every tenant (staff only)
    start: date | None = None
    end: date | None = None
    service: str | None = None
    destination: str | None = None  # a number prefix (digits) or a zone name
    status: str | None = None  # default: every current row (superseded ones left out)


def _conditions(where: UsageFilter) -> list:
    conditions = []
    if where.tenant_id is not None:
        conditions.append(_records.c.tenant_id == where.tenant_id)
    if where.start is not None or where.end is not None:
        since, until = period_bounds(where.start or date(1970, 1, 1), where.end or date(9999, 1, 1))
        conditions += [_records.c.occurred_at >= since, _records.c.occurred_at < until]
    if where.service:
        conditions.append(_records.c.service == where.service)
    if where.destination:
        digits = where.destination.lstrip("+")
        if digits.isdigit():
            conditions.append(_records.c.to_number.startswith(digits, autoescape=True))
        else:
            conditions.append(or_(_records.c.zone == where.destination))
    if where.status:
        conditions.append(_records.c.status == where.status)
    else:
        conditions.append(_records.c.status != UsageStatus.SUPERSEDED.value)
    return conditions


def list_usage(
    session: Session, where: UsageFilter, *, before_id: int | None, limit: int
) -> list[UsageRecord]:
    query = (
        select(UsageRecord).where(*_conditions(where)).order_by(_records.c.id.desc()).limit(limit)
    )
    if before_id is not None:
        query = query.where(_records.c.id < before_id)
    return list(session.execute(query).scalars())


def totals(session: Session, where: UsageFilter) -> dict:
    row = session.execute(
        select(
            func.count().label("records"),
            func.coalesce(func.sum(_records.c.billed_units), 0).label("billed_units"),
            func.coalesce(func.sum(_records.c.net_minor), 0).label("net"),
            func.coalesce(func.sum(_records.c.vat_minor), 0).label("vat"),
            func.count(func.distinct(_records.c.currency)).label("currencies"),
            func.max(_records.c.currency).label("currency"),
        ).where(*_conditions(where))
    ).one()
    return {
        "records": row.records,
        "billed_units": int(row.billed_units),
        "net": int(row.net),
        "vat": int(row.vat),
        # Sums across currencies mean nothing: say which one, or none when mixed.
        "currency": row.currency if row.currencies == 1 else None,
    }
