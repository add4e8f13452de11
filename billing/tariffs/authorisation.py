"""Real-time authorisation: may this tenant place this call or send these messages, and
for how long / how many?

The hot path is one read (the balance, and for a plan with bundles the bundles' rows):
the tenant's standing (billing mode, status, the plan version in force, with its cached
plan and destinations) is kept per process for `standings.STANDING_TTL_S`, so a plan change or
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

Reservations (`billing.usage.reservations`): what open authorisations hold is taken off
the budget and the bundles first. With `reserve`, the answer itself is held: a call's
maximum (or the `seconds` asked for, if fewer), or the `messages` about to be sent, at
its price (VAT included) and with the bundle units it would draw, until its usage is
rated or it expires. A tenant's reserving authorisations are serialised by a lock, so
concurrent sessions never share the same money. Outside a transaction (the API's), a
held answer is a transaction of its own in two round trips
(`billing.usage.held_transaction`): the lock, the release and the budget's read; the
hold and COMMIT. The budget's reads are in `budgets`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

import phonenumbers
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql, reading
from billing.core.errors import InvalidInput
from billing.core.money import Currency
from billing.core.scoping import READ_SCOPE, scope_of
from billing.rating.allowance import MAX_SESSION_S, Request, allowance
from billing.rating.bundles import BundleState
from billing.rating.plans import DURATION_SERVICES, Service
from billing.rating.rater import rate_usage
from billing.rating.records import FxRate, RatedUsage, UsageRecord
from billing.tariffs.budgets import VAT_RATE, budget_and_bundles, prepaid_debit
from billing.tariffs.fx import NoFxRate, day_of
from billing.tariffs.rate_description import describe_rate
from billing.tariffs.service import Tariff
from billing.tariffs.standings import standing_of
from billing.usage import reservations
from billing.usage.held_transaction import HeldTransaction

__all__ = ["Authorisation", "Hold", "authorise", "e164_digits", "prepaid_debit"]


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
    reservation_id: int | None = None
    reserved_minor: int | None = None  # what the reservation holds (VAT included)
    expires_at: datetime | None = None


def authorise(
    session: Session,
    tenant_id: str,
    service: Service,
    destination: str,
    at: datetime | None = None,
    segments: int = 1,
    category: str = "marketing",
    hold: Hold | None = None,
) -> Authorisation:
    """Authorise now (`at` None: the standing may come from the per-process cache), or
    as at a given instant (read afresh); with `hold`, now, holding the answer.

    Without a hold, inside a transaction the reads join it; outside one they run in
    autocommit and the session is left as found (`billing.core.db.reading`): one round
    trip, not three. A hold inside the session's transaction writes in it (the caller
    commits); outside one, on PostgreSQL, it is committed before the answer returns, in
    two round trips (`_authorise_holding`)."""
    number = e164_digits(destination)
    if hold is None:
        with reading(session):
            return _authorise(session, tenant_id, service, number, at, segments, category)
    if not session.in_transaction() and is_postgresql(session):
        return _authorise_holding(session, tenant_id, service, number, segments, category, hold)
    reservations.lock_tenant(session, tenant_id, hold.session_id, utcnow())
    return _authorise(session, tenant_id, service, number, None, segments, category, hold)


def _authorise_holding(
    session: Session,
    tenant_id: str,
    service: Service,
    number: str,
    segments: int,
    category: str,
    hold: Hold,
) -> Authorisation:
    """A held answer in its own transaction, as the general path's statements in two
    round trips (`HeldTransaction`): the lock, the release and the budget's read; the
    hold and COMMIT. The session is left as found (its connection runs in autocommit)."""
    scope = scope_of(session)
    options: dict = {"isolation_level": "AUTOCOMMIT"}
    if scope is not None:  # a statement run meanwhile (a postpaid read) says it too
        options[READ_SCOPE] = scope
    # Not the session's connection: its transaction's bookkeeping was a tenth of the CPU.
    # A cold standing is read first, through the session (in a reading, as without a
    # hold), so that a request never has two connections out of the pool at once.
    with reading(session):
        standing_of(session, tenant_id, None)
    with reading(session), session.get_bind().connect() as connection:
        connection.execution_options(**options)
        held = HeldTransaction(connection, scope, tenant_id, hold.session_id, utcnow())
        try:
            answer = _authorise(
                session, tenant_id, service, number, None, segments, category, hold, held
            )
            held.commit()  # nothing held (a refusal): the release is committed alone
        except BaseException:
            held.abort()
            raise
    return answer


@dataclass(frozen=True)
class Hold:
    """Hold the answer: under the platform's `session_id` (the id the usage will be
    reported under), a call of at most `seconds`, or `messages` messages."""

    session_id: str | None = None
    seconds: int | None = None
    messages: int = 1


def _authorise(
    session: Session,
    tenant_id: str,
    service: Service,
    number: str,
    at: datetime | None,
    segments: int,
    category: str,
    hold: Hold | None = None,
    held: HeldTransaction | None = None,
) -> Authorisation:
    standing, tariff, refusal = standing_of(session, tenant_id, at)
    at = at or utcnow()
    connection = held.connection if held is not None else session.connection()
    budget, bundles = budget_and_bundles(connection, standing, tariff, at, held)
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
    answered = Authorisation(
        **answer,
        allowed=result.allowed,
        reason=result.reason,
        max_seconds=result.max_seconds,
        max_messages=result.max_messages,
        rate=describe_rate(tariff, request, result, VAT_RATE) if result.zone else None,
    )
    if hold is None or not result.allowed:
        return answered
    return _held(session, answered, request, tariff, bundles, fx, hold, held)


def _held(
    session: Session,
    answered: Authorisation,
    request: Request,
    tariff: Tariff,
    bundles: BundleState,
    fx: FxRate | None,
    hold: Hold,
    held: HeldTransaction | None,
) -> Authorisation:
    """Hold what the answer allows (no more than asked), priced as rating will price it."""
    seconds = messages = None
    if request.service in DURATION_SERVICES:
        seconds = min(answered.max_seconds or 0, hold.seconds or MAX_SESSION_S)
        record = UsageRecord(
            "hold", request.service, request.at, request.destination, billable_s=seconds,
            answered=True, category=request.category,
        )  # fmt: skip
    else:
        messages = min(answered.max_messages or 0, hold.messages)
        units = messages * (request.segments if request.service is Service.SMS else 1)
        record = UsageRecord(
            "hold", request.service, request.at, request.destination, units=units,
            category=request.category,
        )  # fmt: skip
    rated = rate_usage(record, tariff.plan, tariff.destinations, bundles, fx)
    if not isinstance(rated, RatedUsage):  # the allowance priced it: cannot happen
        raise AssertionError(f"rating refused a held answer: {rated}")
    amount = prepaid_debit(rated.amount_minor)
    draws = {name: units for name, units in rated.bundle_draws}
    values = reservations.hold_values(
        tenant_id=answered.tenant_id,
        currency=str(answered.currency),
        service=request.service.value,
        destination=request.destination,
        session_id=hold.session_id,
        amount_minor=amount,
        seconds=seconds,
        messages=messages,
        bundle_draws=draws,
        now=request.at,
    )
    reservation_id = held.hold(values) if held else reservations.hold(session, values)
    expires_at = values["expires_at"]
    return replace(
        answered,
        max_seconds=seconds if seconds is not None else answered.max_seconds,
        max_messages=messages if messages is not None else answered.max_messages,
        reservation_id=reservation_id,
        reserved_minor=amount,
        expires_at=expires_at,
    )


@lru_cache(maxsize=65_536)
def e164_digits(raw: str) -> str:
    """A dialled number as E.164 digits: `0754 000 111` and `+255754000111` alike.

    Remembered: the platform asks about the same destinations all day, and parsing one
    cost a fourteenth of an authorisation's CPU. (A refusal raises, and is not cached.)"""
    try:
        number = phonenumbers.parse(raw, "TZ")
    except phonenumbers.NumberParseException as error:
        raise InvalidInput.on("destination", "not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput.on("destination", "not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
