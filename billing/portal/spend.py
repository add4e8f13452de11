"""This month's spend for the overview: by day (in Dar es Salaam) and by service."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.pages.charts import DaySpend
from billing.usage.models import UsageRecord, UsageStatus

EAT = ZoneInfo("Africa/Dar_es_Salaam")
_records = UsageRecord.__table__
CHARGED = (UsageStatus.BILLED.value, UsageStatus.ACCRUED.value)


@dataclass(frozen=True)
class MonthSpend:
    days: list[date]
    by_day: list[DaySpend]
    by_service: dict[str, int]
    total_minor: int
    currency: str | None

    @property
    def daily_average_minor(self) -> int:
        elapsed = sum(1 for day in self.days if day <= datetime.now(EAT).date()) or 1
        return self.total_minor // elapsed


def month_of(now: datetime) -> list[date]:
    local = now.astimezone(EAT).date()
    last = calendar.monthrange(local.year, local.month)[1]
    return [local.replace(day=d) for d in range(1, last + 1)]


def this_month(session: Session, tenant_id: str, now: datetime) -> MonthSpend:
    days = month_of(now)
    since = datetime.combine(days[0], datetime.min.time(), EAT).astimezone(UTC)
    until = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), EAT).astimezone(UTC)
    rows = session.execute(
        select(
            _records.c.occurred_at,
            _records.c.service,
            _records.c.net_minor,
            _records.c.vat_minor,
            _records.c.currency,
        ).where(
            _records.c.tenant_id == tenant_id,
            _records.c.occurred_at >= since,
            _records.c.occurred_at < until,
            _records.c.status.in_(CHARGED),
        )
    )
    per: dict[tuple[date, str], int] = defaultdict(int)
    services: dict[str, int] = defaultdict(int)
    currency = None
    for row in rows:
        amount = (row.net_minor or 0) + (row.vat_minor or 0)
        occurred = (
            row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
        )
        per[(occurred.astimezone(EAT).date(), row.service)] += amount
        services[row.service] += amount
        currency = row.currency or currency
    by_day = [DaySpend(day, service, amount) for (day, service), amount in sorted(per.items())]
    return MonthSpend(days, by_day, dict(services), sum(services.values()), currency)
