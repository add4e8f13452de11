"""charge.dispute.* webhooks: a chargeback held, then released (won) or taken (lost).

The dispute is re-read from Stripe and its *current* status applied, so created, updated
and closed may come in any order and any number of times:

- open (any status but won/lost): the disputed amount moves out of the spendable wallet
  to `hold:chargeback`; what the wallet cannot cover is booked as owed (`receivable`).
- won: the hold goes back where it came from (wallet, and the owed part cancelled).
- lost: Stripe took the amount and its dispute fee from our balance: the hold (or, if
  none was ever placed, the wallet) pays the amount to the card clearing account, and
  the fee is taken from the wallet too (owed where it is short).

Each step is a ledger transaction keyed by the dispute id, so it happens once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from billing.cards.models import CardChargeback
from billing.cards.wallet_moves import CHARGEBACK_HOLD, take
from billing.core.money import Currency
from billing.disputes.service import open_dispute
from billing.events.service import emit
from billing.ledger.postings import RECEIVABLE, WALLET, Posting, clearing
from billing.ledger.service import post_transaction
from billing.topups.gateways import CARD
from billing.topups.models import Topup
from providers.base import ProviderResult
from providers.stripe import wire

CLOSED = ("won", "lost")


@dataclass
class FreshDispute:
    intent_id: str | None
    metadata: dict[str, str]
    dispute: dict[str, Any]
    intent_result: ProviderResult | None = None
    topup_id: str | None = field(default=None)

    @property
    def outcome(self) -> str:
        status = str(self.dispute.get("status") or "")
        return status if status in CLOSED else "open"


def read(adapter, dispute_id: str) -> FreshDispute:
    dispute = adapter.api.retrieve_dispute(dispute_id)
    charge = dispute.get("charge")
    charge = adapter.api.retrieve_charge(charge) if isinstance(charge, str) else charge or {}
    intent_id = dispute.get("payment_intent") or charge.get("payment_intent")
    intent = adapter.api.retrieve_payment_intent(intent_id) if intent_id else {}
    return FreshDispute(
        intent_id=intent_id,
        metadata=dict(intent.get("metadata") or {}),
        dispute={**dispute, "charge": charge.get("id")},
        intent_result=adapter.result(intent) if intent else None,
    )


def apply(session: Session, topup: Topup, fresh: FreshDispute) -> str:
    dispute = fresh.dispute
    row = session.get(CardChargeback, dispute["id"], with_for_update=True)
    if row is None:
        row = CardChargeback(
            id=dispute["id"],
            topup_id=topup.id,
            tenant_id=topup.tenant_id,
            charge_id=str(dispute.get("charge") or ""),
            currency=topup.currency,
            amount_minor=wire.from_stripe_amount(int(dispute["amount"]), topup.currency),
            reason=str(dispute.get("reason") or "")[:100] or None,
            status="open",
            held_minor=0,
            owed_minor=0,
            fee_minor=0,
        )
        session.add(row)
        session.flush()
        row.dispute_id = open_malipo_dispute(session, row)
        _notify(session, row, "topup.chargeback_opened")
    if row.status != "open":
        return "settled"  # closed already: a closed dispute does not reopen at Stripe
    outcome = fresh.outcome
    if outcome == "open":
        if row.hold_transaction_id is None:
            _hold(session, row)
            return "applied"
        return "settled"
    if outcome == "won":
        _release(session, row)
    else:
        _take(session, row, _dispute_fee(dispute, topup.currency))
    row.status = outcome
    _notify(session, row, f"topup.chargeback_{outcome}")
    return "applied"


def open_malipo_dispute(session: Session, chargeback: CardChargeback) -> str:
    """A chargeback opens a Malipo dispute on the top-up (once per Stripe dispute), so the
    admins see it beside the tenant's own disputes, with its evidence."""
    dispute = open_dispute(
        session,
        tenant_id=chargeback.tenant_id,
        subject_kind="topup",
        subject_id=chargeback.topup_id,
        message=f"card chargeback {chargeback.id}: {chargeback.reason or 'no reason given'}",
        opened_by="stripe",
        priority="high",
        amount_minor=chargeback.amount_minor,
        source="chargeback",
        source_ref=chargeback.id,
    )
    return dispute.id


def _hold(session: Session, row: CardChargeback) -> None:
    money = Currency(row.currency)
    taken = take(
        session,
        tenant_id=row.tenant_id,
        currency=row.currency,
        amount_minor=row.amount_minor,
        to=[Posting(CHARGEBACK_HOLD, money, row.amount_minor)],
        key=f"chargeback-hold:{row.id}",
        kind="chargeback_hold",
        description=f"chargeback {row.id} of card top-up {row.topup_id}: held while disputed",
        reference=row.topup_id,
    )
    row.held_minor, row.owed_minor = taken.from_wallet, taken.owed
    row.hold_transaction_id = taken.transaction.id


def _release(session: Session, row: CardChargeback) -> None:
    if row.hold_transaction_id is None:
        return  # won before it was ever held: nothing moved
    money = Currency(row.currency)
    postings = [Posting(CHARGEBACK_HOLD, money, -row.amount_minor)]
    if row.held_minor:
        postings.append(Posting(WALLET, money, row.held_minor))
    if row.owed_minor:
        postings.append(Posting(RECEIVABLE, money, row.owed_minor))
    posted = post_transaction(
        session,
        tenant_id=row.tenant_id,
        idempotency_key=f"chargeback-close:{row.id}",
        kind="chargeback_won",
        postings=postings,
        description=f"chargeback {row.id} won: the held amount is released",
        reference=row.topup_id,
    )
    row.close_transaction_id = posted.id


def _take(session: Session, row: CardChargeback, fee: int) -> None:
    money = Currency(row.currency)
    to_stripe = Posting(clearing(CARD), money, row.amount_minor + fee)
    if row.hold_transaction_id is not None:
        to = [Posting(CHARGEBACK_HOLD, money, -row.amount_minor), to_stripe]
        amount = fee
    else:
        to, amount = [to_stripe], row.amount_minor + fee
    description = f"chargeback {row.id} lost: the amount and Stripe's fee of {fee}"
    if amount:
        taken = take(
            session,
            tenant_id=row.tenant_id,
            currency=row.currency,
            amount_minor=amount,
            to=to,
            key=f"chargeback-close:{row.id}",
            kind="chargeback_lost",
            description=description,
            reference=row.topup_id,
        )
        row.owed_minor += taken.owed
        posted = taken.transaction
    else:  # held already, and no fee: the hold pays Stripe
        posted = post_transaction(
            session,
            tenant_id=row.tenant_id,
            idempotency_key=f"chargeback-close:{row.id}",
            kind="chargeback_lost",
            postings=to,
            description=description,
            reference=row.topup_id,
        )
    row.fee_minor = fee
    row.close_transaction_id = posted.id


def _dispute_fee(dispute: dict[str, Any], currency: str) -> int:
    fees = sum(int(txn.get("fee") or 0) for txn in dispute.get("balance_transactions") or [])
    return wire.from_stripe_amount(fees, currency)


def _notify(session: Session, row: CardChargeback, kind: str) -> None:
    emit(
        session,
        tenant_id=row.tenant_id,
        type=kind,
        data={
            "chargeback_id": row.id,
            "topup_id": row.topup_id,
            "amount": row.amount_minor,
            "currency": row.currency,
            "status": row.status,
            "held": row.held_minor,
            "owed": row.owed_minor,
            "fee": row.fee_minor,
        },
    )
