"""Credit notes: draft adjustment notes against a finalised invoice, a line at a time.

A line can be credited up to what it billed, less what earlier credit notes (not void)
took back; the note is then finalised, rendered and e-mailed like any invoice
(`service.finalise`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.invoicing import states
from billing.invoicing.documents import unit_price_for
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.service import new_invoice
from billing.invoicing.states import InvoiceSource, InvoiceStatus
from billing.tenants.models import Tenant


def create_credit_note(
    session: Session, actor: str, invoice_id: str, reason: str, amounts: dict[int, int] | None
) -> Invoice:
    """A draft adjustment note against a finalised invoice: all its lines, or some amounts.

    `amounts` maps a line position to the amount credited (same basis as the line).
    """
    original = session.get(Invoice, invoice_id, with_for_update=True)  # serialises credits
    if original is None:
        raise NotFound(f"invoice {invoice_id} not found")
    if not states.can_credit(original.status, original.kind):
        raise Conflict("credit notes are issued against a finalised invoice")
    by_position = {line.position: line for line in original.lines}
    wanted = amounts or {p: line.amount_minor for p, line in by_position.items()}
    left_on = left_to_credit(session, original)
    lines = []
    for position, amount in sorted(wanted.items()):
        line = by_position.get(position)
        if line is None:
            raise InvalidInput.on("lines", f"the invoice has no line {position}")
        left = left_on[position]
        if not 0 < amount <= left:
            raise InvalidInput.on("lines", f"line {position}: between 1 and {left} can be credited")
        lines.append((line, amount))
    tenant = session.get(Tenant, original.tenant_id)
    note = new_invoice(
        tenant, InvoiceSource.CREDIT, actor, original_invoice_id=original.id, reason=reason,
        prices_include_vat=original.prices_include_vat, currency=original.currency,
        exchange_rate=original.exchange_rate, rate_source=original.rate_source,
        rate_on=original.rate_on,
    )  # fmt: skip
    for position, (line, amount) in enumerate(lines, start=1):
        note.lines.append(
            InvoiceLine(position=position, item_id=line.item_id, description=line.description,
                        quantity=line.quantity, unit=line.unit, vat_code=line.vat_code,
                        unit_price=unit_price_for(-amount, line.quantity), amount_minor=-amount)
        )  # fmt: skip
    session.add(note)
    session.flush()
    record(session, actor=actor, action="credit_note.draft_created", subject_type="invoice",
           subject_id=note.id, tenant_id=note.tenant_id,
           detail={"original": original.number_text, "reason": reason,
                   "amounts": {str(k): v for k, v in wanted.items()}})  # fmt: skip
    return note


def left_to_credit(session: Session, invoice: Invoice) -> dict[int, int]:
    """Per line position, what credit notes may still take back."""
    credited = _credited_so_far(session, invoice.id)
    return {line.position: line.amount_minor - credited.get(line.description, 0)
            for line in invoice.lines}  # fmt: skip


def _credited_so_far(session: Session, invoice_id: str) -> dict[str, int]:
    """Per line description, what earlier (non-void) credit notes already took back."""
    rows = session.execute(
        select(InvoiceLine.description, func.sum(InvoiceLine.amount_minor))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.original_invoice_id == invoice_id, Invoice.status != InvoiceStatus.VOID)
        .group_by(InvoiceLine.description)
    )
    return {description: -int(total) for description, total in rows}
