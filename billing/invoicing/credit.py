"""Customer credit: a postpaid invoice credited below what was paid on it holds the
excess for the customer, which goes to the tenant's open invoices or back to them.

A credit note finalised after payment takes an invoice's due below zero; that excess
is applied at once to the tenant's open invoices in the same currency, oldest first,
and again whenever a new postpaid invoice is finalised. What no invoice needs stays
held until finance refunds it. Applying moves nothing in the ledger (every invoice of
the tenant is its one `receivable` account, which shows the credit already); a refund
is one balanced transaction, `receivable` → the method's clearing account.

Invoices another transaction has locked (a payment in flight) are skipped rather than
waited for, so two credit moves of one tenant never wait on each other in a cycle; what
was skipped is applied at the tenant's next credit move.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.errors import InvalidInput
from billing.core.ids import new_id
from billing.invoicing import states
from billing.invoicing.models import CreditUse, Invoice, InvoiceCredit, PaymentMethod
from billing.invoicing.payments import (
    add_once,
    amount_due,
    locked_postpaid,
    post_settlement,
    settle,
)
from billing.invoicing.states import InvoiceSource


@dataclass(frozen=True)
class Refund:
    amount_minor: int
    currency: str
    method: PaymentMethod
    reference: str


def apply_credit(
    session: Session, actor: str, tenant_id: str, currency: str
) -> list[InvoiceCredit]:
    """Apply the credit the tenant's invoices hold to its open ones, oldest first."""
    session.flush()
    invoices = list(
        session.execute(
            select(Invoice)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.currency == currency,
                Invoice.source == InvoiceSource.POSTPAID,
                Invoice.status.in_(states.FINAL),
            )
            .order_by(Invoice.issued_at, Invoice.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    due = _dues(session, invoices)
    open_ = [invoice for invoice in invoices if due[invoice.id] > 0]
    moves = []
    for holder in (invoice for invoice in invoices if due[invoice.id] < 0):
        for target in open_:
            amount = min(-due[holder.id], due[target.id])
            if amount <= 0:
                continue
            moves.append(_applied(holder, target, amount, actor))
            due[holder.id] += amount
            due[target.id] -= amount
    if not moves:
        return []
    session.add_all(moves)
    touched = {move.from_invoice_id for move in moves} | {move.to_invoice_id for move in moves}
    for invoice in invoices:
        if invoice.id in touched:
            settle(session, invoice, due=due[invoice.id])
    record(session, actor=actor, action="invoice.credit_applied", subject_type="tenant",
           subject_id=tenant_id, tenant_id=tenant_id,
           detail={"currency": currency,
                   "moves": [{"from": m.from_invoice_id, "to": m.to_invoice_id,
                              "amount_minor": m.amount_minor} for m in moves]})  # fmt: skip
    return moves


def _applied(holder: Invoice, target: Invoice, amount: int, actor: str) -> InvoiceCredit:
    holder.credit_used_minor += amount
    target.credit_applied_minor += amount
    return InvoiceCredit(
        id=new_id("icr"), tenant_id=holder.tenant_id, from_invoice_id=holder.id,
        use=CreditUse.APPLIED, to_invoice_id=target.id, amount_minor=amount,
        currency=holder.currency, recorded_by=actor,
    )  # fmt: skip


def _dues(session: Session, invoices: list[Invoice]) -> dict[str, int]:
    """What is due on each invoice (below zero: credit held), in one query."""
    credited = dict(
        session.execute(
            select(Invoice.original_invoice_id, func.sum(Invoice.gross_minor))
            .where(
                Invoice.original_invoice_id.in_([invoice.id for invoice in invoices]),
                Invoice.status.in_(states.FINAL),
            )
            .group_by(Invoice.original_invoice_id)
        ).all()
    )
    return {
        invoice.id: amount_due(session, invoice, credited=int(credited.get(invoice.id, 0)))
        for invoice in invoices
    }


def refund_credit(session: Session, actor: str, invoice_id: str, refund: Refund) -> InvoiceCredit:
    """Pay back (part of) the credit an invoice holds; 422 for more than it holds."""
    refusal = "credit is refunded from a finalised postpaid invoice"
    invoice = locked_postpaid(session, invoice_id, refund.currency, refusal)
    held = -amount_due(session, invoice)
    if refund.amount_minor > held:
        raise InvalidInput.on(
            "amount", f"at most {max(held, 0)} is held in credit on {invoice.number_text}"
        )
    move = InvoiceCredit(
        id=new_id("icr"), tenant_id=invoice.tenant_id, from_invoice_id=invoice.id,
        use=CreditUse.REFUNDED, amount_minor=refund.amount_minor, currency=refund.currency,
        method=refund.method, reference=refund.reference, recorded_by=actor,
    )  # fmt: skip
    method = refund.method.value.replace("_", " ")
    move.ledger_transaction_id = post_settlement(
        session, invoice, refund.method, -refund.amount_minor,
        key=f"credit-refund:{move.id}", kind="credit_refund",
        description=f"credit on {invoice.number_text} refunded by {method}",
    )  # fmt: skip
    add_once(session, move, f"a {refund.method.value} refund with reference {refund.reference}")
    invoice.credit_used_minor += refund.amount_minor
    settle(session, invoice)
    record(session, actor=actor, action="invoice.credit_refunded", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"credit_id": move.id, "amount_minor": refund.amount_minor,
                   "currency": refund.currency, "method": refund.method.value,
                   "reference": refund.reference,
                   "held_after": held - refund.amount_minor})  # fmt: skip
    return move


def credits_of(session: Session, invoice_id: str) -> list[InvoiceCredit]:
    """The credit moves into and out of an invoice, oldest first."""
    query = select(InvoiceCredit).where(
        or_(InvoiceCredit.from_invoice_id == invoice_id, InvoiceCredit.to_invoice_id == invoice_id)
    )
    query = query.order_by(InvoiceCredit.created_at, InvoiceCredit.id)
    return list(session.execute(query).scalars())
