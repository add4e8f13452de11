"""A refunded top-up's receipt gets its adjustment: a credit note for the amount given
back, which takes its VAT out of `vat:payable` again (the receipt had made it payable).

Run by a job once the provider confirms the refund (`billing.topups.refunds` asks for
it); once per refund: the note names the refund, and making it locks the receipt.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM
from billing.core.config import Settings
from billing.invoicing import credit_notes, service, states
from billing.invoicing.models import Invoice
from billing.topups.models import Refund, RefundStatus, Topup
from billing.topups.receipts import WALLET_NAMES

REFUND_ADJUSTMENT_JOB = "invoicing.refund_adjustment"


def adjust_for_refund(session: Session, settings: Settings, refund_id: str) -> Invoice | None:
    """The finalised credit note of a succeeded refund against its top-up's receipt;
    None while the top-up has no final receipt (nothing was made payable then)."""
    refund = session.get(Refund, refund_id)
    if refund is None or refund.status is not RefundStatus.SUCCEEDED:
        return None
    receipt = session.execute(
        select(Invoice).where(Invoice.topup_id == refund.topup_id).with_for_update()
    ).scalar()
    if receipt is None or receipt.status not in states.FINAL:
        return None
    marker = f"refund {refund.id}"
    existing = session.execute(
        select(Invoice).where(Invoice.original_invoice_id == receipt.id,
                              Invoice.reason.contains(marker),
                              Invoice.status != states.InvoiceStatus.VOID)
    ).scalar()  # fmt: skip
    if existing is not None:
        return existing
    topup = session.get(Topup, refund.topup_id)
    wallet = WALLET_NAMES.get(topup.provider, topup.provider)
    reason = (f"Prepayment refunded to the payer by {wallet} ({marker}, "
              f"reference {refund.provider_txn_id or refund.reference})")  # fmt: skip
    left = credit_notes.left_to_credit(session, receipt)[1]
    note = credit_notes.create_credit_note(
        session, SYSTEM, receipt.id, reason, {1: min(refund.amount_minor, left)}
    )
    return service.finalise(session, settings, SYSTEM, note.id)
