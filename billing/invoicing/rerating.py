"""Re-rating usage a postpaid invoice already covers: what the invoice does about it.

`billing.usage.rerating` prices the period's records again; this settles each changed
record's difference with the tenant's postpaid invoice whose period holds it:

- a draft was not issued yet: its lines are built again from the records as priced now;
- a finalised invoice is never edited. Per line, a decrease takes back first what is
  still pending of its adjustments (an earlier increase, or late usage of the period),
  then goes on one draft credit note against it (finance finalises it like any other;
  capped by what is left to credit); an increase becomes a pending usage adjustment
  that the next draft bills.

The accrued total moves by the differences outside finalised invoices and by the
adjustments; a decrease a credit note takes back was invoiced, not accrued.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.invoicing import states
from billing.invoicing.models import Invoice
from billing.invoicing.service import create_credit_note, left_to_credit, rebuild_draft
from billing.invoicing.sources import item_id_for
from billing.invoicing.states import InvoiceSource, InvoiceStatus
from billing.tenants.models import BillingMode
from billing.tenants.service import get_tenant
from billing.usage.adjustments import add_pending, take_back_pending
from billing.usage.models import AdjustmentKind
from billing.usage.rerating import PriceChange, RerateSummary, rerate_period
from billing.usage.statements import line_description, period_bounds


def rerate_invoiced_period(
    session: Session, actor: str, tenant_id: str, start: date, end: date
) -> RerateSummary:
    """Re-rate `[start, end)` and correct the postpaid invoices of the records it changed."""
    tenant = get_tenant(session, tenant_id)
    if tenant.billing_mode is not BillingMode.POSTPAID:
        return rerate_period(session, tenant_id, start, end)
    invoices = _invoices_over(session, tenant_id, start, end)
    finalised = [invoice for invoice in invoices if invoice.status in states.FINAL]
    summary = rerate_period(
        session, tenant_id, start, end, invoiced=[_window(invoice) for invoice in finalised]
    )
    note_ids, adjusted = [], 0
    for invoice, changes in _by_invoice(invoices, summary.changes):
        if invoice.status is InvoiceStatus.DRAFT:
            rebuild_draft(session, actor, invoice)
            continue
        period = (max(start, invoice.period_start), min(end, invoice.period_end))
        note_id, added = _correct(session, actor, invoice, changes, period)
        note_ids += [note_id] if note_id else []
        adjusted += added
    return dataclasses.replace(summary, credit_note_ids=note_ids, adjustments_minor=adjusted)


def _invoices_over(session: Session, tenant_id: str, start: date, end: date) -> list[Invoice]:
    """The tenant's live postpaid invoices overlapping the period, locked: none is
    finalised (or credited) while its usage is priced again."""
    query = (
        select(Invoice)
        .where(
            Invoice.tenant_id == tenant_id,
            Invoice.source == InvoiceSource.POSTPAID,
            Invoice.status != InvoiceStatus.VOID,
            Invoice.period_start < end,
            Invoice.period_end > start,
        )
        .order_by(Invoice.period_start, Invoice.id)
        .with_for_update()
    )
    return list(session.execute(query).scalars())


def _window(invoice: Invoice):
    return period_bounds(invoice.period_start, invoice.period_end)


def _by_invoice(
    invoices: list[Invoice], changes: Iterable[PriceChange]
) -> list[tuple[Invoice, list[PriceChange]]]:
    """The changes each invoice's period holds (changes outside every invoice are only
    accrued)."""
    windows = [(invoice, *_window(invoice)) for invoice in invoices]
    held: dict[str, list[PriceChange]] = defaultdict(list)
    for change in changes:
        for invoice, since, until in windows:
            if since <= change.occurred_at < until:
                held[invoice.id].append(change)
                break
    return [(invoice, held[invoice.id]) for invoice in invoices if held[invoice.id]]


def _correct(
    session: Session,
    actor: str,
    invoice: Invoice,
    changes: list[PriceChange],
    period: tuple[date, date],
) -> tuple[str | None, int]:
    """One credit note for the lines that went down (less what their pending adjustments
    gave back), an adjustment per line that went up: (the credit note's id or None, what
    the pending adjustments moved by)."""
    difference: dict[tuple[str, str], int] = defaultdict(int)
    for change in changes:  # a record whose zone changed leaves one line for another
        difference[(change.service, change.old_zone)] -= change.old_net_minor
        difference[(change.service, change.zone)] += change.net_minor
    lines = {}
    for line in invoice.lines:
        lines.setdefault(line.item_id, line)
    left = left_to_credit(session, invoice)
    credits, added = {}, 0
    for (service, zone), amount in sorted(difference.items()):
        if amount < 0:  # what is still pending of an earlier increase or late usage goes first
            taken = take_back_pending(session, source_invoice_id=invoice.id, service=service,
                                      zone=zone, amount_minor=-amount)  # fmt: skip
            amount, added = amount + taken, added - taken
        line = lines.get(item_id_for(service, zone))
        if amount < 0 and line is not None and min(-amount, left[line.position]) > 0:
            credits[line.position] = min(-amount, left[line.position])
        elif amount > 0:
            description = line_description(service, zone)
            add_pending(session, kind=AdjustmentKind.RERATE, source_invoice_id=invoice.id,
                        tenant_id=invoice.tenant_id, currency=invoice.currency,
                        service=service, zone=zone, description=description,
                        amount_minor=amount, period=period)  # fmt: skip
            added += amount
    note = None
    if credits:
        last_day = period[1] - timedelta(days=1)
        reason = (
            f"Re-rating of usage {period[0].isoformat()} to {last_day.isoformat()}: "
            f"{len(changes)} record(s) priced again with the corrected rate plan"
        )
        note = create_credit_note(session, actor, invoice.id, reason, credits)
    record(session, actor=actor, action="invoice.rerated", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"records": len(changes), "credit_note_id": note.id if note else None,
                   "credited_minor": sum(credits.values()),
                   "adjustments_minor": added})  # fmt: skip
    return (note.id if note else None), added
