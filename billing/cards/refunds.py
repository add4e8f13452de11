"""charge.refunded webhooks: every refund Stripe has made of the charge, accounted once.

A refund Malipo asked for (`POST /v1/topups/{id}/refund`) carries our reference in its
metadata: the webhook only settles it (its wallet debit was made when it was asked). A
refund made elsewhere (Stripe's dashboard) becomes a refund row of its own, its amount
taken from the wallet (and owed where the wallet is short), keyed by Stripe's refund id
so it is taken once. Stripe's fee on the charge is not given back, and stays booked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.cards.wallet_moves import take
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.ledger.postings import Posting, clearing
from billing.topups import refunds as topup_refunds
from billing.topups.gateways import CARD
from billing.topups.models import Refund, RefundStatus, Topup
from billing.topups.service import reference_for
from providers.base import ProviderResult, ProviderStatus
from providers.stripe import wire


@dataclass
class FreshCharge:
    intent_id: str | None
    metadata: dict[str, str]
    charge_id: str
    refunds: list[dict[str, Any]]
    intent_result: ProviderResult | None = None
    topup_id: str | None = field(default=None)


def read(adapter, charge_id: str) -> FreshCharge:
    charge = adapter.api.retrieve_charge(charge_id)
    intent_id = charge.get("payment_intent")
    intent = adapter.api.retrieve_payment_intent(intent_id) if intent_id else {}
    return FreshCharge(
        intent_id=intent_id,
        metadata=dict(intent.get("metadata") or {}),
        charge_id=charge["id"],
        refunds=adapter.api.list_refunds(charge["id"]),
        intent_result=adapter.result(intent) if intent else None,
    )


def apply(session: Session, topup: Topup, fresh: FreshCharge) -> str:
    done = []
    for refund in sorted(fresh.refunds, key=lambda r: (r.get("created") or 0, r["id"])):
        done.append(_one(session, topup, fresh.charge_id, refund))
    return "applied" if any(d == "applied" for d in done) else "settled"


def _one(session: Session, topup: Topup, charge_id: str, stripe_refund: dict[str, Any]) -> str:
    status = wire.REFUND.get(str(stripe_refund.get("status")))
    if status is None or status.status is ProviderStatus.PENDING:
        return "settled"  # a later charge.refunded (or the refund sweep) settles it
    ours = _ours(session, stripe_refund)
    result = ProviderResult(
        provider=CARD,
        status=status.status,
        provider_ref=charge_id,
        provider_txn_id=stripe_refund["id"],
        reason_code=stripe_refund.get("status"),
        reason=status.description,
    )
    if ours is not None:
        if ours.status in (RefundStatus.SENDING, RefundStatus.UNKNOWN):
            topup_refunds.settle(session, ours.id, result)
            return "applied"
        return "settled"
    if status.status is not ProviderStatus.SUCCEEDED:
        return "settled"  # a refund made elsewhere that failed: no money moved
    _record_external(session, topup, stripe_refund, result)
    return "applied"


def _ours(session: Session, stripe_refund: dict[str, Any]) -> Refund | None:
    reference = (stripe_refund.get("metadata") or {}).get("malipo_refund")
    query = select(Refund).with_for_update()
    if reference:
        return session.execute(query.where(Refund.reference == reference)).scalar()
    return session.execute(query.where(Refund.provider_txn_id == stripe_refund["id"])).scalar()


def _record_external(
    session: Session, topup: Topup, stripe_refund: dict[str, Any], result: ProviderResult
) -> None:
    amount = wire.from_stripe_amount(int(stripe_refund["amount"]), topup.currency)
    refund_id = new_id("rfd")
    taken = take(
        session,
        tenant_id=topup.tenant_id,
        currency=topup.currency,
        amount_minor=amount,
        to=[Posting(clearing(CARD), Currency(topup.currency), amount)],
        key=f"card-refund:{stripe_refund['id']}",
        kind="refund",
        description=f"refund {stripe_refund['id']} made at Stripe of card top-up {topup.id}",
        reference=topup.id,
    )
    session.add(
        Refund(
            id=refund_id,
            topup_id=topup.id,
            tenant_id=topup.tenant_id,
            reference=reference_for(refund_id),
            amount_minor=amount,
            currency=topup.currency,
            reason="refunded at Stripe"
            + (f" ({taken.owed} owed: the wallet was short)" if taken.owed else ""),
            status=RefundStatus.SENDING,
            provider_txn_id=stripe_refund["id"],
            debit_transaction_id=taken.transaction.id,
        )
    )
    session.flush()
    topup_refunds.settle(session, refund_id, result)
