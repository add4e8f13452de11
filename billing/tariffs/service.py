"""The tariff loader: `tariff_for(session, tenant_id, at)` -> everything rating needs.

One small query finds the tenant's assignment, the plan version in force and the
generation counters of the shared tables; the plan, its destinations and FX rates come
from a per-process cache keyed by (plan id, version) and by generation, so a warm call
reads no plan, prefix or rate rows. Versions and assignments are immutable, which is
what makes those keys safe: a change is a new version (a new key), a prefix or FX load
bumps its generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import DateTime, Select, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, join

from billing.core.errors import MalipoError, NotFound
from billing.core.money import Currency
from billing.rating.destinations import DestinationTable
from billing.rating.plans import RatePlan
from billing.rating.records import FxRate
from billing.tariffs import fx
from billing.tariffs.cache import cache_for
from billing.tariffs.models import PlanAssignment, RatePlanVersion, TariffGeneration
from billing.tenants.models import BillingMode, Tenant, TenantStatus


class NoRatePlan(MalipoError):
    """The tenant has no rate plan in force at that instant: its usage cannot be priced."""

    status = 409
    title = "No rate plan"
    type_slug = "no-rate-plan"


@dataclass(frozen=True)
class Tariff:
    """A tenant's prices at one instant, ready for `billing.rating.rater.rate_usage`."""

    tenant_id: str
    currency: Currency  # the tenant's: what its wallet and invoices are in
    billing_mode: BillingMode
    plan: RatePlan  # with the tenant's overrides applied
    destinations: DestinationTable
    plan_id: str
    plan_version: int
    assignment_id: str
    credit_limit_minor: int | None
    fx_book: fx.FxBook

    def fx_quote(self, day: date) -> fx.FxQuote | None:
        """The rate converting this plan's prices into the tenant's currency on `day`.

        None when the plan is already in the tenant's currency; `NoFxRate` when a
        conversion is needed and no rate is stored for the day (or the week before).
        """
        if self.plan.currency == self.currency:
            return None
        quote = self.fx_book.quote(self.plan.currency, self.currency, day)
        if quote is None:
            raise fx.NoFxRate(
                f"no {self.currency} per {self.plan.currency} rate stored for {day}",
                {"fx_rate": [f"record the {self.plan.currency}/{self.currency} rate for {day}"]},
            )
        return quote

    def fx_rate(self, day: date) -> FxRate | None:
        quote = self.fx_quote(day)
        return None if quote is None else quote.rate


@dataclass(frozen=True, slots=True)
class Standing:
    """What the lookup query reads about a tenant at an instant (and, if asked, its wallet)."""

    tenant_id: str
    currency: Currency
    billing_mode: BillingMode
    active: bool
    assignment_id: str | None
    assignment_valid_to: datetime | None
    credit_limit_minor: int | None
    plan_id: str | None
    version: int | None
    version_valid_to: datetime | None
    destinations_generation: int
    fx_generation: int
    overdue: bool = False  # restricted by dunning until paid (billing.dunning)
    restricted: bool = False  # processing restricted (billing.privacy): nothing is authorised


def tariff_for(session: Session, tenant_id: str, at: datetime) -> Tariff:
    """The tenant's tariff in force at the aware instant `at`.

    Raises `NotFound` for an unknown tenant and `NoRatePlan` when none is in force.
    """
    return tariff_from(session, read_standing(session, tenant_id, at), at)


def read_standing(session: Session, tenant_id: str, at: datetime) -> Standing:
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    row = session.connection().execute(_STANDING, {"tenant_id": tenant_id, "at": at}).first()
    if row is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return _standing(tenant_id, row)


def read_standings(
    session: Session, asked: Sequence[tuple[str, datetime]]
) -> list[Standing | None]:
    """`read_standing` of each (tenant, aware instant) pair, None for an unknown tenant:
    on PostgreSQL in one query (a batch of usage asks two instants of each of its tenants,
    and forty round trips cost more than rating the batch's rows)."""
    if any(at.tzinfo is None for _tenant, at in asked):
        raise ValueError("at must be timezone-aware")
    if not asked:
        return []
    if session.connection().dialect.name != "postgresql":
        found: list[Standing | None] = []
        for tenant_id, at in asked:
            row = session.connection().execute(_STANDING, {"tenant_id": tenant_id, "at": at})
            row = row.first()
            found.append(None if row is None else _standing(tenant_id, row))
        return found
    rows = session.connection().execute(
        _STANDINGS,
        {"tenant_ids": [tenant for tenant, _at in asked], "ats": [at for _tenant, at in asked]},
    )
    standings: list[Standing | None] = [None] * len(asked)
    for row in rows:
        standings[row.n - 1] = _standing(asked[row.n - 1][0], row)
    return standings


def _standing(tenant_id: str, row: Any) -> Standing:
    return Standing(
        tenant_id,
        Currency(row.currency),
        BillingMode(row.billing_mode),
        row.status == TenantStatus.ACTIVE,
        row.assignment_id,
        row.assignment_valid_to,
        row.credit_limit_minor,
        row.plan_id,
        row.version,
        row.version_valid_to,
        row.destinations_generation,
        row.fx_generation,
        row.overdue_since is not None,
        row.restricted_at is not None,
    )


def tariff_from(session: Session, standing: Standing, at: datetime) -> Tariff:
    if (
        standing.assignment_id is None
        or standing.plan_id is None
        or standing.version is None
        or (standing.assignment_valid_to is not None and standing.assignment_valid_to <= at)
        or (standing.version_valid_to is not None and standing.version_valid_to <= at)
    ):
        raise NoRatePlan(
            f"tenant {standing.tenant_id} has no rate plan in force at {at.isoformat()}",
            {"tenant_id": ["assign a rate plan: POST /v1/tenants/{id}/rate-plan"]},
        )
    cache = cache_for(session)
    plan = cache.plan(session, standing.plan_id, standing.version, standing.assignment_id)
    return Tariff(
        tenant_id=standing.tenant_id,
        currency=standing.currency,
        billing_mode=standing.billing_mode,
        plan=plan,
        destinations=cache.destinations(session, standing.destinations_generation),
        plan_id=standing.plan_id,
        plan_version=standing.version,
        assignment_id=standing.assignment_id,
        credit_limit_minor=standing.credit_limit_minor,
        fx_book=cache.fx_book(session, standing.fx_generation),
    )


def _standing_query(tenant_id: Any = None, at: Any = None, *also: Any) -> Select:
    """The lookup for one tenant at one instant: bound parameters by default, or the
    columns of a table of them (`read_standings`, which names it in `also`)."""
    if tenant_id is None:
        tenant_id = bindparam("tenant_id")
        at = bindparam("at", type_=PlanAssignment.valid_from.type)
    assignment_id = (
        select(PlanAssignment.id)
        .where(PlanAssignment.tenant_id == Tenant.id, PlanAssignment.valid_from <= at)
        .order_by(PlanAssignment.valid_from.desc(), PlanAssignment.created_at.desc())
        .limit(1)
        .correlate(Tenant, *also)
        .scalar_subquery()
    )
    version_id = (
        select(RatePlanVersion.id)
        .where(RatePlanVersion.plan_id == PlanAssignment.plan_id, RatePlanVersion.valid_from <= at)
        .order_by(RatePlanVersion.version.desc())
        .limit(1)
        .correlate(PlanAssignment, *also)
        .scalar_subquery()
    )
    destinations = select(TariffGeneration.generation).where(
        TariffGeneration.name == "destinations"
    )
    fx_generation = select(TariffGeneration.generation).where(TariffGeneration.name == "fx")
    columns: list[Any] = [
        Tenant.currency,
        Tenant.billing_mode,
        Tenant.status,
        Tenant.overdue_since,
        Tenant.restricted_at,
        PlanAssignment.id.label("assignment_id"),
        PlanAssignment.valid_to.label("assignment_valid_to"),
        PlanAssignment.credit_limit_minor,
        PlanAssignment.plan_id,
        RatePlanVersion.version,
        RatePlanVersion.valid_to.label("version_valid_to"),
        destinations.scalar_subquery().label("destinations_generation"),
        fx_generation.scalar_subquery().label("fx_generation"),
    ]
    if also:  # the table of pairs, then each pair's tenant
        tenants = join(also[0], Tenant, Tenant.id == tenant_id)
        tenants = tenants.outerjoin(PlanAssignment, PlanAssignment.id == assignment_id)
        tenants = tenants.outerjoin(RatePlanVersion, RatePlanVersion.id == version_id)
        return select(*columns).select_from(tenants)
    query = select(*columns).select_from(Tenant)
    query = query.outerjoin(PlanAssignment, PlanAssignment.id == assignment_id)
    query = query.outerjoin(RatePlanVersion, RatePlanVersion.id == version_id)
    return query.where(Tenant.id == tenant_id)


def _standings_query() -> Select:
    """`_STANDING` for many (tenant, instant) pairs at once, each row numbered by its pair."""
    asked = (
        func.unnest(
            bindparam("tenant_ids", type_=ARRAY(String)),
            bindparam("ats", type_=ARRAY(DateTime(timezone=True))),
        )
        .table_valued("tenant_id", "at", with_ordinality="n")
        .render_derived(name="asked")
    )
    query = _standing_query(asked.c.tenant_id, asked.c.at, asked)
    return query.add_columns(asked.c.n)


_STANDING = _standing_query()
_STANDINGS = _standings_query()


def current_destinations(session: Session) -> DestinationTable:
    """The whole destination table, from the cache while no load has happened since."""
    generation = session.execute(
        select(TariffGeneration.generation).where(TariffGeneration.name == "destinations")
    ).scalar_one()
    return cache_for(session).destinations(session, generation)
