"""payment_intent.* webhooks: the PaymentIntent re-read, then applied like any outcome.

Success credits the wallet once (`billing.topups.outcomes`, ledger key `topup:<id>`) and
books Stripe's fee from the charge's balance transaction: the clearing account then
shows what Stripe owes net, and `fees:card` what it kept (card_charges: gross/fee/net).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from billing.cards.models import CardCharge
from billing.cards.wallet_moves import FEES
from billing.core.money import Currency
from billing.ledger.postings import Posting, clearing
from billing.ledger.service import post_transaction
from billing.topups.gateways import CARD
from billing.topups.models import Topup, TopupStatus
from billing.topups.outcomes import Outcome, apply_outcome
from providers.base import ProviderResult, ProviderStatus
from providers.stripe import wire

SOURCE = "stripe_api"  # what a re-read object is: Stripe's own answer, by our stored id


@dataclass
class FreshIntent:
    intent_id: str
    metadata: dict[str, str]
    result: ProviderResult
    charge: dict[str, Any] | None = None  # the latest charge, its balance transaction expanded
    topup_id: str | None = field(default=None)


class ChargeFigures(NamedTuple):
    charge_id: str
    balance_transaction_id: str | None
    gross: int
    fee: int
    available_at: datetime | None  # the balance transaction's `available_on`


def read(adapter, intent_id: str) -> FreshIntent:
    intent = adapter.api.retrieve_payment_intent(
        intent_id, expand=["latest_charge.balance_transaction"]
    )
    charge = intent.get("latest_charge")
    return FreshIntent(
        intent_id=intent["id"],
        metadata=dict(intent.get("metadata") or {}),
        result=adapter.result(intent),
        charge=charge if isinstance(charge, dict) else None,
    )


def apply(session: Session, topup: Topup, fresh: FreshIntent, inbox_id: int | None) -> str:
    done = apply_outcome(session, topup, Outcome.of(SOURCE, fresh.result), inbox_id)
    if fresh.result.status is ProviderStatus.SUCCEEDED and topup.status in (
        TopupStatus.SUCCEEDED,
        TopupStatus.REFUNDED,
    ):
        book_fee(session, topup, fresh)
    return "review" if done in ("mismatch", "conflict", "unknown_status") else done


def fee_of(fresh: FreshIntent, currency: str) -> ChargeFigures | None:
    """The latest charge's id, balance transaction id, gross and fee (minor units), and
    when Stripe makes its money available (a payout takes it from then on)."""
    charge = fresh.charge
    if not charge:
        return None
    txn = charge.get("balance_transaction")
    txn = txn if isinstance(txn, dict) else {}
    gross = wire.from_stripe_amount(int(charge.get("amount") or 0), currency)
    fee = wire.from_stripe_amount(int(txn.get("fee") or 0), currency)
    available = txn.get("available_on")
    available_at = datetime.fromtimestamp(int(available), UTC) if available else None
    return ChargeFigures(charge["id"], txn.get("id"), gross, fee, available_at)


def book_fee(session: Session, topup: Topup, fresh: FreshIntent) -> CardCharge | None:
    """The charge's gross, fee and net, once per charge; the fee to `fees:card`."""
    figures = fee_of(fresh, topup.currency)
    if figures is None or session.get(CardCharge, figures.charge_id) is not None:
        return None
    charge_id, txn_id, gross, fee, available_at = figures
    currency = topup.currency
    charge = {"id": charge_id}
    posted = None
    if fee:
        money = Currency(currency)
        posted = post_transaction(
            session,
            tenant_id=topup.tenant_id,
            idempotency_key=f"card-fee:{charge['id']}",
            kind="card_fee",
            postings=[Posting(clearing(CARD), money, fee), Posting(FEES, money, -fee)],
            description=f"Stripe fee on charge {charge['id']} of top-up {topup.id}",
            reference=topup.id,
        )
    row = CardCharge(
        id=charge["id"],
        topup_id=topup.id,
        tenant_id=topup.tenant_id,
        payment_intent_id=fresh.intent_id,
        balance_transaction_id=txn_id,
        currency=currency,
        gross_minor=gross,
        fee_minor=fee,
        net_minor=gross - fee,
        fee_transaction_id=posted.id if posted else None,
        available_at=available_at,
    )
    session.add(row)
    session.flush()
    return row
