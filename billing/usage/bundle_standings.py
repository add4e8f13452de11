"""What a tenant's bundles have left, read without locks: for authorisation and
`GET /v1/usage/bundles`. A bundle with no balance row yet in its period is full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from billing.rating.bundles import EMPTY, BundleState, period_of
from billing.rating.plans import RatePlan
from billing.tariffs.service import NoRatePlan, tariff_for
from billing.usage.models import BundleBalance

_balances = BundleBalance.__table__


@dataclass(frozen=True, slots=True)
class BundleStanding:
    """One of a tenant's bundles in the period holding an instant."""

    bundle: str
    service: str
    period: str
    period_start: date
    period_end: date
    units_granted: int
    units_used: int

    @property
    def units_remaining(self) -> int:
        return max(self.units_granted - self.units_used, 0)


# The tenant's balances whose period holds the local day `day`.
CURRENT_BALANCES = select(
    _balances.c.bundle,
    _balances.c.period,
    _balances.c.period_start,
    _balances.c.units_granted,
    _balances.c.units_used,
).where(
    _balances.c.tenant_id == bindparam("tenant_id"),
    _balances.c.period_start <= bindparam("day"),
    _balances.c.period_end > bindparam("day"),
)


def standings(
    connection: Connection, tenant_id: str, plan: RatePlan, at: datetime
) -> list[BundleStanding]:
    """The plan's bundles at `at`, as drawn so far (one indexed read; none drawn: full)."""
    if not plan.bundles:
        return []
    day = period_of("day", at)[0]
    rows = connection.execute(CURRENT_BALANCES, {"tenant_id": tenant_id, "day": day})
    return standings_from(plan, day, rows)


def standings_from(plan: RatePlan, day: date, rows: Iterable[Any]) -> list[BundleStanding]:
    """The plan's bundles on local `day` from the `CURRENT_BALANCES` rows read for it."""
    stored = {(row.bundle, row.period, row.period_start): row for row in rows}
    found = []
    for bundle in plan.bundles:
        start, end = period_of(bundle.period, day)
        row = stored.get((bundle.name, bundle.period, start))
        granted = bundle.units if row is None else row.units_granted
        found.append(
            BundleStanding(
                bundle.name, bundle.service.value, bundle.period, start, end, granted,
                0 if row is None else row.units_used,
            )
        )  # fmt: skip
    return found


def state_of(found: Iterable[BundleStanding]) -> BundleState:
    """What the rater may draw: the units left of each bundle."""
    return BundleState({standing.bundle: standing.units_remaining for standing in found})


def current_state(
    connection: Connection, tenant_id: str, plan: RatePlan, at: datetime
) -> BundleState:
    """The bundle state authorisation prices with: what is left now, unlocked."""
    if not plan.bundles:
        return EMPTY
    return state_of(standings(connection, tenant_id, plan, at))


def tenant_bundles(session: Session, tenant_id: str, at: datetime) -> list[BundleStanding]:
    """The bundles of the tenant's plan in force at `at`, as drawn so far (none: no plan)."""
    try:
        tariff = tariff_for(session, tenant_id, at)
    except NoRatePlan:
        return []
    return standings(session.connection(), tenant_id, tariff.plan, at)
