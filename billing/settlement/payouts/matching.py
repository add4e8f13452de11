"""Each balance transaction of a payout matched to what the ledger booked for it.

- a charge (ch_): the card top-up it credited (ledger key `topup:<id>`) and the fee
  booked from its balance transaction (`card_charges`): same currency, gross and fee;
- a refund (re_): the refund row and its wallet debit, same amount;
- a dispute withdrawal (dp_): the chargeback's hold (open, won) or its close (lost: the
  dispute fee too); a reinstatement: the chargeback won and released;
- a fee of Stripe's own is a fee line, the payout's own transaction a payout line;
  anything else moved money the ledger never booked: missing in Malipo.

Then what the payout lacks: a card charge whose money Stripe made available after the
previous reconciled payout and before this one, that no payout lists, is `not_in_payout`
(once; payouts are reconciled oldest first).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.cards.models import CardCharge, CardChargeback
from billing.ledger.models import Transaction
from billing.settlement.payouts.lines import Txn
from billing.settlement.payouts.models import PayoutLine, StripePayout
from billing.settlement.payouts.models import PayoutOutcome as O
from billing.topups.models import Refund, Topup, TopupStatus
from billing.topups.states import RefundStatus

CREDITED = (TopupStatus.SUCCEEDED, TopupStatus.REFUNDED)


class Ledger:
    """What the ledger booked for a payout's sources, loaded in one query per kind."""

    def __init__(self, session: Session, txns: list[Txn]) -> None:
        self.session = session
        sources = {kind: [t.source_id for t in txns if t.kind == kind and t.source_id]
                   for kind in ("charge", "refund", "dispute")}  # fmt: skip
        self.charges = _by_id(session, CardCharge, CardCharge.id, sources["charge"])
        self.refunds = _by_id(session, Refund, Refund.provider_txn_id, sources["refund"])
        self.chargebacks = _by_id(session, CardChargeback, CardChargeback.id, sources["dispute"])

    def credit_of(self, charge: CardCharge) -> tuple[Topup | None, int | None]:
        topup = self.session.get(Topup, charge.topup_id)
        credit = self.session.execute(
            select(Transaction.id).where(
                Transaction.tenant_id == charge.tenant_id,
                Transaction.idempotency_key == f"topup:{charge.topup_id}",
            )
        ).scalar()
        return topup, credit


def _by_id(session: Session, model, column, ids: list[str]) -> dict:
    if not ids:
        return {}
    rows = session.execute(select(model).where(column.in_(set(ids)))).scalars()
    return {getattr(row, column.key): row for row in rows}


def line_for(ledger: Ledger, payout_id: str, txn: Txn) -> PayoutLine:
    line = PayoutLine(
        payout_id=payout_id, balance_transaction_id=txn.id, kind=txn.kind,
        source_id=txn.source_id, currency=txn.currency, gross_minor=txn.gross_minor,
        fee_minor=txn.fee_minor, net_minor=txn.net_minor, occurred_at=txn.occurred_at,
        outcome=O.MISSING_IN_MALIPO,
    )  # fmt: skip
    match = {"charge": _charge, "refund": _refund, "dispute": _dispute}.get(txn.kind)
    if txn.kind == "fee":
        line.outcome = O.FEE
    elif txn.kind == "payout":
        line.outcome = O.PAYOUT
    elif match is None:
        line.note = "a balance transaction of a kind Malipo does not book"
    else:
        match(ledger, txn, line)
    return line


def _compare(line: PayoutLine, currency: str, gross: int, fee: int | None) -> None:
    line.expected_gross_minor, line.expected_fee_minor = gross, fee
    if currency != line.currency:
        line.outcome, line.note = O.AMOUNT_MISMATCH, f"booked in {currency}"
    elif gross != line.gross_minor or (fee is not None and fee != line.fee_minor):
        line.outcome = O.AMOUNT_MISMATCH
    else:
        line.outcome = O.MATCHED


def _charge(ledger: Ledger, txn: Txn, line: PayoutLine) -> None:
    charge = ledger.charges.get(txn.source_id)
    if charge is None:
        line.note = "no card charge of this id was booked"
        return
    topup, credit = ledger.credit_of(charge)
    line.topup_id, line.tenant_id = charge.topup_id, charge.tenant_id
    line.ledger_transaction_id, line.fee_transaction_id = credit, charge.fee_transaction_id
    if topup is None or topup.status not in CREDITED or credit is None:
        line.note = "the top-up was never credited"
        return
    _compare(line, charge.currency, charge.gross_minor, charge.fee_minor)


def _refund(ledger: Ledger, txn: Txn, line: PayoutLine) -> None:
    refund = ledger.refunds.get(txn.source_id)
    if refund is None:
        line.note = "no refund of this id was booked"
        return
    line.topup_id, line.tenant_id = refund.topup_id, refund.tenant_id
    line.ledger_transaction_id = refund.debit_transaction_id
    if refund.status != RefundStatus.SUCCEEDED:
        line.note = f"the refund is {refund.status} in Malipo"
        return
    _compare(line, refund.currency, -refund.amount_minor, None)


def _dispute(ledger: Ledger, txn: Txn, line: PayoutLine) -> None:
    chargeback = ledger.chargebacks.get(txn.source_id)
    if chargeback is None:
        line.note = "no chargeback of this id was booked"
        return
    line.topup_id, line.tenant_id = chargeback.topup_id, chargeback.tenant_id
    if txn.gross_minor > 0:  # reinstated: the chargeback was won
        line.ledger_transaction_id = chargeback.close_transaction_id
        if chargeback.status != "won":
            line.note = f"reinstated at Stripe, {chargeback.status} in Malipo"
            return
        _compare(line, chargeback.currency, chargeback.amount_minor, None)
        return
    if chargeback.status == "lost":  # the amount and the dispute fee were taken
        line.ledger_transaction_id = chargeback.close_transaction_id
        _compare(line, chargeback.currency, -chargeback.amount_minor, chargeback.fee_minor)
        return
    line.ledger_transaction_id = chargeback.hold_transaction_id
    if chargeback.hold_transaction_id is None and chargeback.status == "open":
        line.note = "withdrawn at Stripe, never held in Malipo"
        return
    line.note = f"chargeback {chargeback.status}: its fee is booked only if lost"
    _compare(line, chargeback.currency, -chargeback.amount_minor, None)


def not_in_payout(session: Session, payout: StripePayout, txns: list[Txn]) -> list[PayoutLine]:
    """Card charges Stripe made available for this payout that it does not list.

    An automatic payout takes every balance transaction available when it is made, so a
    charge of its currency whose `available_on` falls between the previous reconciled
    payout's creation and this one's (both inclusive: Stripe counts seconds) belongs in
    this payout or the previous one. Decided on Stripe's own times, never Malipo's
    booking clock (which sees other charges of the same moment); a charge that any payout
    lists or that was flagged before is left out, so each is flagged at most once.
    Without a previous reconciled payout the window starts at this payout's earliest
    charge; a charge booked without `available_on` is never flagged.
    """
    listed = {t.source_id for t in txns if t.kind == "charge"}
    start = session.execute(
        select(func.max(StripePayout.created_at)).where(
            StripePayout.currency == payout.currency,
            StripePayout.created_at <= payout.created_at,
            StripePayout.id != payout.id,
        )
    ).scalar()
    if start is None:
        own = [t.available_at for t in txns if t.kind == "charge" and t.available_at]
        if not own:
            return []
        start = min(own)
    seen = select(PayoutLine.id).where(
        PayoutLine.source_id == CardCharge.id, PayoutLine.kind == "charge"
    )
    rows = session.execute(
        select(CardCharge)
        .where(
            CardCharge.currency == payout.currency,
            CardCharge.available_at >= start,
            CardCharge.available_at <= payout.created_at,
            ~seen.exists(),
        )
        .order_by(CardCharge.available_at, CardCharge.id)
    ).scalars()
    return [
        PayoutLine(
            payout_id=payout.id,
            balance_transaction_id=None,
            kind="charge",
            source_id=row.id,
            currency=row.currency,
            gross_minor=row.gross_minor,
            fee_minor=row.fee_minor,
            net_minor=row.net_minor,
            occurred_at=row.created_at,
            outcome=O.NOT_IN_PAYOUT,
            topup_id=row.topup_id,
            tenant_id=row.tenant_id,
            fee_transaction_id=row.fee_transaction_id,
            note="available before the payout was made; no payout lists it",
        )
        for row in rows
        if row.id not in listed
    ]
