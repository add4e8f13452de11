"""Evidence from the books: an invoice with its lines and credit notes, its fiscal receipt,
and ledger transactions with their entries (`billing.disputes.evidence`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.core.config import Settings
from billing.invoicing.models import Invoice
from billing.invoicing.rendering import fiscal_of
from billing.ledger.models import Account, Entry, Transaction


def invoice_of(session: Session, invoice: Invoice, line: int | None) -> dict[str, Any]:
    notes = session.execute(
        select(Invoice).where(Invoice.original_invoice_id == invoice.id).order_by(Invoice.id)
    ).scalars()
    return {
        "id": invoice.id,
        "kind": invoice.kind.value,
        "status": invoice.status.value,
        "number": invoice.number_text,
        "currency": invoice.currency,
        "period_start": invoice.period_start and invoice.period_start.isoformat(),
        "period_end": invoice.period_end and invoice.period_end.isoformat(),
        "net": invoice.net_minor,
        "vat": invoice.vat_minor,
        "gross": invoice.gross_minor,
        "disputed_line": line,
        "lines": [
            {
                "position": x.position,
                "item_id": x.item_id,
                "description": x.description,
                "quantity": str(x.quantity),
                "unit": x.unit,
                "unit_price": str(x.unit_price),
                "vat_code": x.vat_code,
                "amount": x.amount_minor,
            }
            for x in invoice.lines
        ],
        "credit_notes": [
            {
                "id": n.id,
                "status": n.status.value,
                "number": n.number_text,
                "gross": n.gross_minor,
                "reason": n.reason,
            }
            for n in notes
        ],
    }


def fiscal_receipt_of(invoice: Invoice, settings: Settings) -> dict[str, Any] | None:
    fiscal = fiscal_of(invoice, settings)
    if fiscal is None:
        return None
    return {
        "status": invoice.fiscal_status.value,
        "verification_code": fiscal.verification_code,
        "verification_url": fiscal.verification_url,
        "receipt_number": fiscal.receipt_number,
        "z_number": fiscal.z_number,
        "daily_counter": fiscal.daily_counter,
        "vfd_serial": fiscal.vfd_serial,
        "last_ack_code": invoice.last_ack_code,
        "fiscalised_at": invoice.fiscalised_at and invoice.fiscalised_at.isoformat(),
        "signed_receipt": (invoice.receipt_body or b"").decode("utf-8", errors="replace"),
    }


def ledger_of(session, tenant_id: str, references: set[str], ids: set[int]) -> list[dict]:
    found = (
        session.execute(
            select(Transaction)
            .where(
                Transaction.tenant_id == tenant_id,
                or_(Transaction.reference.in_(references), Transaction.id.in_(ids or {-1})),
            )
            .order_by(Transaction.id)
        )
        .scalars()
        .all()
    )
    if not found:
        return []
    entries = session.execute(
        select(Entry, Account.kind)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.transaction_id.in_([t.id for t in found]))
        .order_by(Entry.id)
    ).all()
    by_transaction: dict[int, list] = {}
    for entry, kind in entries:
        by_transaction.setdefault(entry.transaction_id, []).append(
            {
                "account": kind,
                "currency": entry.currency,
                "amount": entry.amount_minor,
                "balance_after": entry.balance_after_minor,
            }
        )
    return [
        {
            "id": t.id,
            "kind": t.kind,
            "description": t.description,
            "reference": t.reference,
            "reverses_id": t.reverses_id,
            "created_at": t.created_at.isoformat(),
            "entries": by_transaction.get(t.id, []),
        }
        for t in found
    ]
