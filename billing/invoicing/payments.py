"""A postpaid customer paying an invoice: finance records the money received.

Finalising booked the gross to `receivable`; a payment moves what arrived from the
method's clearing account (`clearing:bank_transfer`, …: the money on its way into our
bank) against `receivable`, in one balanced transaction keyed by the payment. What is
left to pay is the gross less finalised credit notes less payments (and customer credit
brought in: `billing.invoicing.credit`); more is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.invoicing import states
from billing.invoicing.models import Invoice, InvoicePayment, PaymentMethod, PaymentStatus
from billing.invoicing.states import InvoiceSource
from billing.ledger.postings import RECEIVABLE, Posting, clearing
from billing.ledger.service import post_transaction


@dataclass(frozen=True)
class Received:
    amount_minor: int
    currency: str
    method: PaymentMethod
    reference: str
    received_at: datetime


def record_payment(session: Session, actor: str, invoice_id: str, paid: Received) -> InvoicePayment:
    """Book the payment and settle the invoice by it; 422 for more than is due."""
    invoice = locked_postpaid(
        session,
        invoice_id,
        paid.currency,
        "payments are recorded against a finalised postpaid invoice",
    )
    if paid.received_at > utcnow():
        raise InvalidInput.on("received_at", "must not be in the future")
    due = amount_due(session, invoice)
    if paid.amount_minor > due:
        raise InvalidInput.on("amount", f"at most {due} is due on {invoice.number_text}")
    payment = InvoicePayment(
        id=new_id("pay"), invoice_id=invoice.id, tenant_id=invoice.tenant_id,
        amount_minor=paid.amount_minor, currency=paid.currency, method=paid.method,
        reference=paid.reference, received_at=paid.received_at, recorded_by=actor,
    )  # fmt: skip
    payment.ledger_transaction_id = post_settlement(
        session, invoice, paid.method, paid.amount_minor,
        key=f"invoice-payment:{payment.id}", kind="invoice_payment",
        description=f"payment of {invoice.number_text} by {paid.method.value.replace('_', ' ')}",
    )  # fmt: skip
    add_once(session, payment, f"a {paid.method.value} payment with reference {paid.reference}")
    invoice.amount_paid_minor += paid.amount_minor
    settle(session, invoice, at=paid.received_at)
    record(session, actor=actor, action="invoice.payment_recorded", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"payment_id": payment.id, "amount_minor": paid.amount_minor,
                   "currency": paid.currency, "method": paid.method.value,
                   "reference": paid.reference, "due_after": due - paid.amount_minor})  # fmt: skip
    return payment


def locked_postpaid(session: Session, invoice_id: str, currency: str, refusal: str) -> Invoice:
    """The finalised postpaid invoice money moves against, locked: moves queue here."""
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    if invoice.source is not InvoiceSource.POSTPAID or invoice.status not in states.FINAL:
        raise Conflict(refusal)
    if currency != invoice.currency:
        raise InvalidInput.on("currency", f"the invoice is in {invoice.currency}")
    return invoice


def post_settlement(
    session: Session,
    invoice: Invoice,
    method: PaymentMethod,
    amount_minor: int,
    *,
    key: str,
    kind: str,
    description: str,
) -> int:
    """Money between the method's clearing account and the tenant's `receivable`: in
    (a payment, `amount_minor` > 0) or back out (a refund, < 0). The transaction's id."""
    money = Currency(invoice.currency)
    return post_transaction(
        session,
        tenant_id=invoice.tenant_id,
        idempotency_key=key,
        kind=kind,
        postings=[
            Posting(clearing(method.value), money, -amount_minor),
            Posting(RECEIVABLE, money, amount_minor),
        ],
        description=description,
        reference=invoice.id,
    ).id


def add_once(session: Session, row: object, what: str) -> None:
    """Insert a payment or refund; 409 naming `what` if its method's reference is taken."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{what} is recorded already") from None


def amount_due(session: Session, invoice: Invoice, *, credited: int | None = None) -> int:
    """Gross, less finalised credit notes against it (`credited`, < 0, when known), less
    what was paid and the credit brought in from other invoices, plus the credit taken
    out (`billing.invoicing.credit`). Below zero: credit the invoice holds."""
    if credited is None:
        credited = session.execute(
            select(func.coalesce(func.sum(Invoice.gross_minor), 0)).where(
                Invoice.original_invoice_id == invoice.id, Invoice.status.in_(states.FINAL)
            )
        ).scalar_one()
    return (
        invoice.gross_minor
        + int(credited)
        - invoice.amount_paid_minor
        - invoice.credit_applied_minor
        + invoice.credit_used_minor
    )


def settle(
    session: Session, invoice: Invoice, *, at: datetime | None = None, due: int | None = None
) -> None:
    """Set the payment status from what is due (after a payment or a credit note);
    `due` when the caller knows it already."""
    due = amount_due(session, invoice) if due is None else due
    if due <= 0:
        invoice.payment_status = PaymentStatus.PAID
        invoice.paid_at = invoice.paid_at or at or utcnow()
    else:
        paid = invoice.amount_paid_minor > 0 or invoice.credit_applied_minor > 0
        invoice.payment_status = PaymentStatus.PARTLY_PAID if paid else PaymentStatus.UNPAID


def on_finalise(session: Session, invoice: Invoice, original: Invoice | None) -> None:
    """A new postpaid invoice is unpaid; a top-up receipt was paid by its top-up; a credit
    note lowers what is due on a postpaid original."""
    if invoice.source is InvoiceSource.POSTPAID:
        invoice.payment_status = PaymentStatus.UNPAID
    elif invoice.source is InvoiceSource.TOPUP:
        invoice.payment_status, invoice.paid_at = PaymentStatus.PAID, invoice.issued_at
        invoice.amount_paid_minor = invoice.gross_minor
    elif original is not None and original.source is InvoiceSource.POSTPAID:
        session.flush()
        locked = session.execute(
            select(Invoice).where(Invoice.id == original.id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()  # fmt: skip
        settle(session, locked)


def payments_of(session: Session, invoice_id: str) -> list[InvoicePayment]:
    query = select(InvoicePayment).where(InvoicePayment.invoice_id == invoice_id)
    return list(session.execute(query.order_by(InvoicePayment.created_at)).scalars())
