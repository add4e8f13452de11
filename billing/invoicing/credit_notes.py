"""Credit notes: draft adjustment notes against a finalised invoice, a line at a time.

A line can be credited up to what it billed, less what earlier credit notes (not void)
took back; the note is then finalised, rendered and e-mailed like any invoice
(`service.finalise`).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.invoicing import states
from billing.invoicing.documents import credited_quantity, unit_price_for
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
        quantity, price = credited(line, amount)
        note.lines.append(
            InvoiceLine(position=position, item_id=line.item_id, description=line.description,
                        quantity=quantity, unit=line.unit, vat_code=line.vat_code,
                        unit_price=price, amount_minor=-amount, service=line.service,
                        zone=line.zone, adjustment=line.adjustment,
                        adjusts_month=line.adjusts_month)
        )  # fmt: skip
    session.add(note)
    session.flush()
    record(session, actor=actor, action="credit_note.draft_created", subject_type="invoice",
           subject_id=note.id, tenant_id=note.tenant_id,
           detail={"original": original.number_text, "reason": reason,
                   "amounts": {str(k): v for k, v in wanted.items()}})  # fmt: skip
    return note


def credited(line: InvoiceLine, amount: int) -> tuple[Decimal, Decimal]:
    """(quantity, unit price) of a credit note line taking `amount` back from `line`,
    read as what was credited: 3 minutes at the line's 60.00 → (-3, 60.00), so the
    note prints "-3 min, 60.00, -180.00". The whole line: its own quantity and price.
    A part of a counted line that is no whole number of units: the units it stands for
    (6 places) at the price that gives back the amount exactly (the line's, to within
    rounding); of a lump sum (no unit): 1 at the amount."""
    if amount == line.amount_minor:
        return -line.quantity, line.unit_price
    quantity = credited_quantity(amount, line.unit_price)
    if quantity is not None:
        return -quantity, line.unit_price
    if not line.unit or line.unit_price <= 0:  # a lump sum (a fee, an adjustment): 1 of the part
        return Decimal(-1), unit_price_for(amount, Decimal(1))
    quantity = (Decimal(amount).scaleb(-2) / line.unit_price).quantize(Decimal("1E-6"))
    if quantity <= 0:
        return Decimal(-1), unit_price_for(amount, Decimal(1))
    return -quantity, unit_price_for(amount, quantity)


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
