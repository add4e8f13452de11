"""Payouts for the Stripe fake, in Stripe's wire format (localstripe has none that group
anything: its `Payout` is a manual one, EUR only, tied to no balance transaction).

What this adds to localstripe:

- `GET /v1/balance_transactions?payout=po_…`: the balance transactions an automatic
  payout settled, its own (`type: payout`, the negative amount) among them; `type=` too.
- `GET /v1/payouts` filtered by `created[gte|lte|gt|lt]` and `arrival_date[…]`, newest
  first, and `GET /v1/payouts/{id}` (localstripe's route) for the automatic ones.
- Dispute balance transactions: a dispute opened withdraws the amount and the dispute fee
  (`type: adjustment`, `reporting_category: dispute`, source `dp_…`); one won reinstates
  both (`dispute_reversal`). They are listed in the dispute's `balance_transactions`.
- A test control, `POST /_malipo/payouts` (optional `currency`): the automatic payout
  run now, one per currency, each grouping the available balance transactions since the
  previous payout (status `paid`, `automatic: true`, `reconciliation_status: completed`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from localstripe import server
from localstripe.errors import UserError
from localstripe.resources import BalanceTransaction, List, Payout, StripeObject, store

DISPUTE_FEE = 1500
TWO_DAYS_S = 2 * 24 * 3600
_PAID_OUT: dict[str, str] = {}  # balance transaction id → the payout that settled it


def new_balance_transaction(
    *, amount: int, fee: int, currency: str, type: str, category: str, source: str,
    description: str,
) -> BalanceTransaction:  # fmt: skip
    """A balance transaction of a type localstripe's constructor refuses (adjustment,
    payout), set up as its constructor would."""
    txn = BalanceTransaction.__new__(BalanceTransaction)
    StripeObject.__init__(txn)
    txn.amount = amount
    txn.available_on = txn.created
    txn.currency = currency
    txn.description = description
    txn.exchange_rate = None
    txn.fee = fee
    txn.fee_details = (
        [{"amount": fee, "currency": currency, "type": "stripe_fee", "description": "Dispute fee"}]
        if fee
        else []
    )
    txn.reporting_category = category
    txn.source = source
    txn.status = "available"
    txn.type = type
    return txn


def dispute_withdrawal(dispute: Any) -> BalanceTransaction:
    return new_balance_transaction(
        amount=-dispute.amount, fee=DISPUTE_FEE, currency=dispute.currency, type="adjustment",
        category="dispute", source=dispute.id,
        description=f"Chargeback withdrawal for {dispute.charge}",
    )  # fmt: skip


def dispute_reinstatement(dispute: Any) -> BalanceTransaction:
    return new_balance_transaction(
        amount=dispute.amount, fee=-DISPUTE_FEE, currency=dispute.currency, type="adjustment",
        category="dispute_reversal", source=dispute.id,
        description=f"Chargeback reversal for {dispute.charge}",
    )  # fmt: skip


def run_payouts(currency: str | None = None) -> list[Payout]:
    """Pay out, per currency, every available balance transaction no payout took yet."""
    pending: dict[str, list[BalanceTransaction]] = {}
    for key, txn in list(store.items()):
        if not key.startswith("balance_transaction:") or txn.type == "payout":
            continue
        if txn.id in _PAID_OUT or txn.status != "available":
            continue
        if currency is None or txn.currency == currency:
            pending.setdefault(txn.currency, []).append(txn)
    payouts = []
    for money, txns in sorted(pending.items()):
        amount = sum(txn.amount - txn.fee for txn in txns)
        if amount <= 0:
            continue  # a negative balance is not paid out; it waits for more charges
        payout = _automatic_payout(amount, money)
        for txn in txns:
            _PAID_OUT[txn.id] = payout.id
        payouts.append(payout)
    return payouts


def _automatic_payout(amount: int, currency: str) -> Payout:
    payout = Payout.__new__(Payout)
    StripeObject.__init__(payout)
    own = new_balance_transaction(
        amount=-amount, fee=0, currency=currency, type="payout", category="payout",
        source=payout.id, description="STRIPE PAYOUT",
    )  # fmt: skip
    _PAID_OUT[own.id] = payout.id
    payout.amount = amount
    payout.arrival_date = payout.created + TWO_DAYS_S
    payout.automatic = True
    payout.balance_transaction = own.id
    payout.currency = currency
    payout.description = "STRIPE PAYOUT"
    payout.destination = "ba_malipo_fake_bank"
    payout.failure_balance_transaction = None
    payout.failure_code = None
    payout.failure_message = None
    payout.metadata = {}
    payout.method = "standard"
    payout.original_payout = None
    payout.reconciliation_status = "completed"
    payout.reversed_by = None
    payout.source_type = "card"
    payout.statement_descriptor = None
    payout.status = "paid"
    payout.type = "bank_account"
    return payout


def _in_range(value: int, bounds: Any) -> bool:
    if bounds is None:
        return True
    if not isinstance(bounds, dict):
        return value == int(bounds)
    checks = {"gte": value.__ge__, "gt": value.__gt__, "lte": value.__le__, "lt": value.__lt__}
    for name, bound in bounds.items():
        if name not in checks:
            raise UserError(400, f"Unexpected {name}")
        if not checks[name](int(bound)):
            return False
    return True


def _page(url: str, items: list, limit: Any, starting_after: Any) -> List:
    page = List(url, limit=limit, starting_after=starting_after)
    page._list = items
    return page


def list_balance_transactions(
    cls, url, limit=None, starting_after=None, payout=None, type=None, **kwargs
):  # localstripe's signature
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    if payout is not None:
        Payout._api_retrieve(payout)  # 404 for a payout that does not exist
    items = [
        txn
        for key, txn in store.items()
        if key.startswith("balance_transaction:")
        and (payout is None or _PAID_OUT.get(txn.id) == payout)
        and (type is None or txn.type == type)
    ]
    items.sort(key=lambda txn: txn.created, reverse=True)
    return _page(url, items, limit, starting_after)


def list_payouts(
    cls, url, limit=None, starting_after=None, created=None, arrival_date=None, status=None,
    **kwargs,
):  # fmt: skip
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    items = [
        payout
        for key, payout in store.items()
        if key.startswith("payout:")
        and _in_range(payout.created, created)
        and _in_range(payout.arrival_date, arrival_date)
        and (status is None or payout.status == status)
    ]
    items.reverse()  # newest first as Stripe lists them, within one second too
    items.sort(key=lambda payout: payout.created, reverse=True)
    return _page(url, items, limit, starting_after)


async def _run_payouts(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    payouts = run_payouts(data.get("currency"))
    return server.json_response(
        {"object": "list", "data": [payout._export() for payout in payouts], "has_more": False}
    )


def install(app: web.Application) -> None:
    BalanceTransaction._api_list_all = classmethod(list_balance_transactions)  # type: ignore[assignment]
    Payout._api_list_all = classmethod(list_payouts)  # type: ignore[assignment]
    app.router.add_post("/_malipo/payouts", _run_payouts)
