"""What an authorisation may spend: the budget and the bundles left, less what open
reservations hold.

A prepaid tenant's budget (and its bundles) is one read (`prepaid_read`), which a held
answer sends in the same round trip as the tenant's lock (`HeldTransaction.begin`); a
postpaid tenant's takes reads of its own (`billing.usage.accruals`), made after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Date, String, bindparam, null, select, type_coerce, union_all
from sqlalchemy.sql import ClauseElement

from billing.ledger.models import Account
from billing.ledger.postings import WALLET
from billing.rating.bundles import EMPTY, BundleState, period_of
from billing.rating.plans import RatePlan
from billing.tariffs.service import Standing, Tariff
from billing.tenants.models import BillingMode
from billing.usage import reservations
from billing.usage.accruals import exposure
from billing.usage.bundle_standings import (
    CURRENT_BALANCES,
    current_state,
    standings_from,
    state_of,
)
from billing.usage.held_transaction import HeldTransaction
from invoices.vat import STANDARD_RATES, VatCode, gross_from_net

VAT_RATE = STANDARD_RATES[VatCode.A]
_accounts = Account.__table__
_IS_WALLET = (
    _accounts.c.tenant_id == bindparam("tenant_id"),
    _accounts.c.kind == WALLET,
    _accounts.c.currency == bindparam("currency"),
)
# The wallet's balance less what open reservations hold, in the same read.
BALANCE = select(
    (_accounts.c.balance_minor - reservations.HELD_MONEY).label("balance_minor")
).where(*_IS_WALLET)
# The wallet's balance less what is held (the row without a bundle; `units_used` counts
# the open reservations that hold bundle units) and the current bundle balances.
WALLET_AND_BUNDLES = union_all(
    select(
        type_coerce(null(), String).label("bundle"),
        type_coerce(null(), String).label("period"),
        type_coerce(null(), Date).label("period_start"),
        (_accounts.c.balance_minor - reservations.HELD_MONEY).label("units_granted"),
        reservations.HOLDING_UNITS.label("units_used"),
    ).where(*_IS_WALLET),
    CURRENT_BALANCES,
)


def budget_and_bundles(
    connection: Connection,
    standing: Standing,
    tariff: Tariff | None,
    at: datetime,
    held: HeldTransaction | None = None,
) -> tuple[int | None, BundleState]:
    """The budget and the bundles left now, less what reservations hold; a prepaid
    tenant's in one round trip (two if reservations hold bundle units). With `held`, that
    round trip is the one that takes the tenant's lock: the read runs under it."""
    plan = tariff.plan if tariff is not None else None
    read = prepaid_read(standing, plan, at)
    if held is not None:
        rows = held.begin(*read) if read is not None else held.begin(None, {})
    elif read is not None:
        rows = connection.execute(*read).all()
    if read is None:
        return _postpaid(connection, standing, plan, at)
    return _prepaid(connection, standing, plan, at, rows)


def prepaid_read(
    standing: Standing, plan: RatePlan | None, at: datetime
) -> tuple[ClauseElement, dict[str, Any]] | None:
    """The one read of a prepaid tenant's budget (with its bundles, if the plan has any)
    and its parameters; None for a postpaid tenant."""
    if standing.billing_mode is not BillingMode.PREPAID:
        return None
    params = {"tenant_id": standing.tenant_id, "currency": str(standing.currency), "now": at}
    if plan is None or not plan.bundles:
        return BALANCE, params
    return WALLET_AND_BUNDLES, {**params, "day": period_of("day", at)[0]}


def _prepaid(
    connection: Connection, standing: Standing, plan: RatePlan | None, at: datetime, rows: list
) -> tuple[int, BundleState]:
    """A prepaid budget and bundles from the rows of `prepaid_read`."""
    if plan is None or not plan.bundles:
        return max((rows[0][0] if rows else None) or 0, 0), EMPTY
    day = period_of("day", at)[0]
    wallet = next((row for row in rows if row.bundle is None), None)
    found = standings_from(plan, day, (row for row in rows if row.bundle is not None))
    state = state_of(found)
    if wallet is not None and wallet.units_used:
        state = _less_held_units(connection, standing.tenant_id, at, state)
    return max(wallet.units_granted, 0) if wallet is not None else 0, state


def _postpaid(
    connection: Connection, standing: Standing, plan: RatePlan | None, at: datetime
) -> tuple[int | None, BundleState]:
    """A postpaid budget (None: no credit limit) and bundles, each read on its own."""
    state = EMPTY
    if plan is not None and plan.bundles:
        state = current_state(connection, standing.tenant_id, plan, at)
        state = _less_held_units(connection, standing.tenant_id, at, state)
    limit = standing.credit_limit_minor
    if limit is None:
        return None, state
    accrued_net, owed = exposure(connection, standing.tenant_id, str(standing.currency))
    held, _units = reservations.held(connection, standing.tenant_id, at)
    return max(limit - prepaid_debit(accrued_net) - owed - held, 0), state


def _less_held_units(
    connection: Connection, tenant_id: str, at: datetime, bundles: BundleState
) -> BundleState:
    """The bundles less the units open reservations hold."""
    _money, units = reservations.held(connection, tenant_id, at)
    if not units or not bundles.remaining:
        return bundles
    return BundleState(
        {name: max(n - units.get(name, 0), 0) for name, n in bundles.remaining.items()}
    )


def prepaid_debit(net_minor: int) -> int:
    """What a prepaid wallet pays for a net charge: the charge plus its VAT."""
    return gross_from_net(net_minor, VAT_RATE)
