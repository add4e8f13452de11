"""Real-time authorisation: may this tenant place this call or send these messages, and
for how long / how many?

The hot path is one read (the balance, and for a plan with bundles the bundles' rows):
the tenant's standing (billing mode, status, the plan version in force, with its cached
plan and destinations) is kept per process for `STANDING_TTL_S`, so a plan change or
reassignment reaches authorisation in other processes within that time (in this
process at once), while rating itself (`service.tariff_for`) always reads the version
in force. The arithmetic is `rating.allowance`, which prices candidates with the rater
itself.

Budgets: a prepaid tenant spends its wallet's available balance, and a prepaid debit is
the net charge plus its VAT (see the Tax section of the design), so candidates are
priced gross. A postpaid tenant without a credit limit is allowed up to the caps; with
one, it spends what is left of the limit (VAT included) after its usage accrued and not
yet invoiced (at its VAT-inclusive value) and its invoices not yet paid, read in one
round trip from `billing.usage.accruals`. Bundles left in the current periods are
priced first, as rating will draw them (read unlocked: a draw racing this answer can only
make the call dearer by what a concurrent record took).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import phonenumbers
from sqlalchemy import (
    Connection,
    Date,
    String,
    bindparam,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import reading
from billing.core.errors import InvalidInput
from billing.core.money import Currency
from billing.ledger.models import Account
from billing.ledger.postings import WALLET
from billing.rating.allowance import Allowance, Request, allowance
from billing.rating.bundles import EMPTY, BundleState, period_of
from billing.rating.plans import ANY, DURATION_SERVICES, RatePlan, Service
from billing.tariffs.fx import NoFxRate, day_of
from billing.tariffs.service import NoRatePlan, Standing, Tariff, read_standing, tariff_from
from billing.tenants.models import BillingMode
from billing.usage.accruals import exposure
from billing.usage.bundle_standings import (
    CURRENT_BALANCES,
    current_state,
    standings_from,
    state_of,
)
from invoices.vat import STANDARD_RATES, VatCode, gross_from_net

VAT_RATE = STANDARD_RATES[VatCode.A]
STANDING_TTL_S = 2.0
_accounts = Account.__table__
_IS_WALLET = (
    _accounts.c.tenant_id == bindparam("tenant_id"),
    _accounts.c.kind == WALLET,
    _accounts.c.currency == bindparam("currency"),
)
_BALANCE = select(_accounts.c.balance_minor).where(*_IS_WALLET)
# The wallet's balance (the row without a bundle) and the current bundle balances.
_WALLET_AND_BUNDLES = union_all(
    select(
        type_coerce(null(), String).label("bundle"),
        type_coerce(null(), String).label("period"),
        type_coerce(null(), Date).label("period_start"),
        _accounts.c.balance_minor.label("units_granted"),
        literal(0).label("units_used"),
    ).where(*_IS_WALLET),
    CURRENT_BALANCES,
)


@dataclass(frozen=True)
class Authorisation:
    tenant_id: str
    service: Service
    destination: str
    currency: Currency
    available_minor: int | None  # the budget used; None: postpaid without a limit
    allowed: bool
    reason: str = ""
    max_seconds: int | None = None
    max_messages: int | None = None
    rate: dict | None = None


def authorise(
    session: Session,
    tenant_id: str,
    service: Service,
    destination: str,
    at: datetime | None = None,
    segments: int = 1,
    category: str = "marketing",
) -> Authorisation:
    """Authorise now (`at` None: the standing may come from the per-process cache), or
    as at a given instant (read afresh).

    Inside a transaction the reads join it; outside one they run in autocommit and the
    session is left as found (`billing.core.db.reading`): one round trip, not three."""
    number = e164_digits(destination)
    with reading(session):
        return _authorise(session, tenant_id, service, number, at, segments, category)


def _authorise(
    session: Session,
    tenant_id: str,
    service: Service,
    number: str,
    at: datetime | None,
    segments: int,
    category: str,
) -> Authorisation:
    standing, tariff, refusal = _standing(session, tenant_id, at)
    at = at or utcnow()
    connection = session.connection()
    budget, bundles = _budget_and_bundles(connection, standing, tariff, at)
    answer = {
        "tenant_id": tenant_id,
        "service": service,
        "destination": number,
        "currency": standing.currency,
        "available_minor": budget,
    }
    if refusal or tariff is None:
        return Authorisation(**answer, allowed=False, reason=refusal)
    try:
        fx = tariff.fx_rate(day_of(at))
    except NoFxRate:
        return Authorisation(**answer, allowed=False, reason="no_fx_rate")
    request = Request(service, number, at, segments=segments, category=category)
    result = allowance(
        request, tariff.plan, tariff.destinations, budget, prepaid_debit, bundles, fx
    )
    return Authorisation(
        **answer,
        allowed=result.allowed,
        reason=result.reason,
        max_seconds=result.max_seconds,
        max_messages=result.max_messages,
        rate=describe_rate(tariff, request, result) if result.zone else None,
    )


def _budget_and_bundles(
    connection: Connection, standing: Standing, tariff: Tariff | None, at: datetime
) -> tuple[int | None, BundleState]:
    """The budget and the bundles left now; a prepaid tenant's in one round trip."""
    plan = tariff.plan if tariff is not None else None
    if plan is None or not plan.bundles:
        return _budget(connection, standing), EMPTY
    if standing.billing_mode is not BillingMode.PREPAID:
        return _budget(connection, standing), current_state(
            connection, standing.tenant_id, plan, at
        )
    day = period_of("day", at)[0]
    rows = connection.execute(
        _WALLET_AND_BUNDLES,
        {"tenant_id": standing.tenant_id, "currency": str(standing.currency), "day": day},
    ).all()
    wallet = next((row.units_granted for row in rows if row.bundle is None), None)
    found = standings_from(plan, day, (row for row in rows if row.bundle is not None))
    return wallet or 0, state_of(found)


def _budget(connection: Connection, standing: Standing) -> int | None:
    """What the tenant may spend now, VAT included; None: no limit."""
    currency = str(standing.currency)
    if standing.billing_mode is BillingMode.PREPAID:
        wallet = connection.execute(
            _BALANCE, {"tenant_id": standing.tenant_id, "currency": currency}
        )
        return wallet.scalar() or 0
    limit = standing.credit_limit_minor
    if limit is None:
        return None
    accrued_net, owed = exposure(connection, standing.tenant_id, currency)
    return max(limit - prepaid_debit(accrued_net) - owed, 0)


_standings: dict[tuple[str, str], tuple[float, Standing, Tariff | None, str]] = {}


def _standing(
    session: Session, tenant_id: str, at: datetime | None
) -> tuple[Standing, Tariff | None, str]:
    """The tenant's standing and tariff; for "now", read at most every STANDING_TTL_S."""
    key = (_database_of(session), tenant_id)
    now = time.monotonic()
    if at is None:
        held = _standings.get(key)
        if held is not None and held[0] > now:
            return held[1], held[2], held[3]
    standing = read_standing(session, tenant_id, at or utcnow())
    tariff, refusal = None, ""
    if standing.restricted:
        refusal = "processing_restricted"
    elif not standing.active:
        refusal = "tenant_suspended"
    else:
        try:
            tariff = tariff_from(session, standing, at or utcnow())
        except NoRatePlan:
            refusal = "no_rate_plan"
    if at is None:
        if len(_standings) > 100_000:
            _standings.clear()
        _standings[key] = (now + STANDING_TTL_S, standing, tariff, refusal)
    return standing, tariff, refusal


def forget_standings() -> None:
    """Drop the cached standings: a plan or assignment changed in this process."""
    _standings.clear()


def _database_of(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def prepaid_debit(net_minor: int) -> int:
    """What a prepaid wallet pays for a net charge: the charge plus its VAT."""
    return gross_from_net(net_minor, VAT_RATE)


def e164_digits(raw: str) -> str:
    """A dialled number as E.164 digits: `0754 000 111` and `+255754000111` alike."""
    try:
        number = phonenumbers.parse(raw, "TZ")
    except phonenumbers.NumberParseException as error:
        raise InvalidInput.on("destination", "not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput.on("destination", "not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def describe_rate(tariff: Tariff, request: Request, result: Allowance) -> dict:
    """The price the answer was worked from, in the plan's terms (net of VAT)."""
    plan = tariff.plan
    described: dict = {
        "plan_id": tariff.plan_id,
        "plan_version": tariff.plan_version,
        "zone": result.zone,
        "band": result.band,
        "currency": str(plan.currency),
        "first_charge": result.first_charge_minor,  # in the tenant's currency, as debited
        "vat_rate": str(VAT_RATE) if tariff.billing_mode is BillingMode.PREPAID else None,
    }
    if request.service in DURATION_SERVICES:
        rate = plan.duration_rate(request.service, result.zone, result.band)
        if rate is not None:
            groups = rate.groups
            described |= {
                "price": str(groups[0].rate),
                "per_seconds": rate.rate_unit_s,
                "increments": f"{groups[0].increment_s}/{groups[-1].increment_s}",
                "connect_fee": str(rate.connect_fee),
                "minimum_charge": str(rate.minimum_charge),
            }
        return described
    price = _unit_price(plan, tariff, request, result.zone)
    unit = "segment" if request.service is Service.SMS else "message"
    return described | {"price": None if price is None else str(price), "per": unit}


def _unit_price(plan: RatePlan, tariff: Tariff, request: Request, zone: str) -> Decimal | None:
    if request.service is not Service.WHATSAPP:
        unit = plan.unit_rate(request.service, zone)
        return None if unit is None else unit.price
    destination = tariff.destinations.match(request.destination, request.at)
    market = (destination.market or destination.country) if destination else ""
    unit = plan.whatsapp.get((request.category, market)) or plan.whatsapp.get(
        (request.category, ANY)
    )
    return None if unit is None else unit.price
