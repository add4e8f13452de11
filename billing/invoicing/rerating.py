"""Re-rating usage a postpaid invoice already covers: what the invoice does about it.

`billing.usage.rerating` prices the period's records again; this settles each changed
record's difference with the tenant's postpaid invoice whose period holds it:

- a draft was not issued yet: its lines are built again from the records as priced now;
- a finalised invoice is never edited. Per line, a decrease takes back first what is
  not invoiced yet of its adjustments (an earlier increase, or late usage of the
  period: pending, or on a draft, which is rebuilt), then goes on a draft credit note
  against it, and past what is left to credit there, against the finalised invoices
  that billed its adjustments (finance finalises them like any other); an increase
  becomes a pending usage adjustment that the next draft bills.

The accrued total moves by the differences outside finalised invoices and by the
adjustments; a decrease a credit note takes back was invoiced, not accrued.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.invoicing import states
from billing.invoicing.adjustments import line_of
from billing.invoicing.credit_notes import create_credit_note, left_to_credit
from billing.invoicing.models import Invoice
from billing.invoicing.service import rebuild_draft
from billing.invoicing.sources import item_id_for
from billing.invoicing.states import InvoiceSource, InvoiceStatus
from billing.tenants.models import BillingMode
from billing.tenants.service import get_tenant
from billing.usage.adjustments import add_pending, take_back_pending
from billing.usage.models import AdjustmentKind, UsageAdjustment
from billing.usage.rerating import PriceChange, RerateSummary, rerate_period
from billing.usage.statements import line_description, period_bounds


def rerate_invoiced_period(
    session: Session, actor: str, tenant_id: str, start: date, end: date
) -> RerateSummary:
    """Re-rate `[start, end)` and correct the postpaid invoices of the records it changed."""
    tenant = get_tenant(session, tenant_id)
    if tenant.billing_mode is not BillingMode.POSTPAID:
        summary = rerate_period(session, tenant_id, start, end)
        record(session, actor=actor, action="usage.rerated", subject_type="tenant",
               subject_id=tenant_id, tenant_id=tenant_id,
               detail={"start": start.isoformat(), "end": end.isoformat(),
                       "changed": summary.changed, "net_difference": summary.net_difference,
                       "ledger_transaction_id": summary.ledger_transaction_id})  # fmt: skip
        return summary
    locked = _invoices_to_correct(session, tenant_id, start, end)
    invoices = [i for i in locked if i.period_start < end and i.period_end > start]
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
        notes, added = _correct(session, actor, invoice, changes, period, locked)
        note_ids += notes
        adjusted += added
    return dataclasses.replace(summary, credit_note_ids=note_ids, adjustments_minor=adjusted)


def _invoices_to_correct(session: Session, tenant_id: str, start: date, end: date) -> list[Invoice]:
    """The tenant's live postpaid invoices overlapping the period, and those billing their
    usage adjustments, locked in one order: none is finalised (or credited) while its
    usage is priced again."""
    over = (
        Invoice.tenant_id == tenant_id,
        Invoice.source == InvoiceSource.POSTPAID,
        Invoice.status != InvoiceStatus.VOID,
        Invoice.period_start < end,
        Invoice.period_end > start,
    )
    sources = select(Invoice.id).where(*over)
    billing = select(UsageAdjustment.invoice_id).where(
        UsageAdjustment.source_invoice_id.in_(sources)
    )
    query = (
        select(Invoice)
        .where(or_(and_(*over), Invoice.id.in_(billing)))
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
    locked: list[Invoice],
) -> tuple[list[str], int]:
    """Per line, a decrease off its adjustments not invoiced yet, then on a credit note
    against the invoice (or against those that billed its adjustments); an increase as a
    pending adjustment. (The credit notes' ids, what the adjustments moved by.)"""
    difference: dict[tuple[str, str], int] = defaultdict(int)
    for change in changes:  # a record whose zone changed leaves one line for another
        difference[(change.service, change.old_zone)] -= change.old_net_minor
        difference[(change.service, change.zone)] += change.net_minor
    drafts = [other for other in locked if other.status is InvoiceStatus.DRAFT]
    credits: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    added = 0
    for (service, zone), amount in sorted(difference.items()):
        if amount < 0:  # first what is not invoiced of an earlier increase or of late usage
            taken = take_back_pending(session, source_invoice_id=invoice.id, service=service,
                                      zone=zone, amount_minor=-amount,
                                      drafts=[draft.id for draft in drafts])  # fmt: skip
            amount, added = amount + taken, added - taken
        if amount < 0:
            for credited, position, take in _to_credit(session, invoice, service, zone, locked,
                                                       -amount, credits):  # fmt: skip
                credits[credited.id][position] += take
        elif amount > 0:
            description = line_description(service, zone)
            add_pending(session, kind=AdjustmentKind.RERATE, source_invoice_id=invoice.id,
                        tenant_id=invoice.tenant_id, currency=invoice.currency,
                        service=service, zone=zone, description=description,
                        amount_minor=amount, period=period)  # fmt: skip
            added += amount
    for draft in drafts:
        rebuild_draft(session, actor, draft)  # what it billed may have been taken back
    last_day = period[1] - timedelta(days=1)
    reason = (
        f"Re-rating of usage {period[0].isoformat()} to {last_day.isoformat()}: "
        f"{len(changes)} record(s) priced again with the corrected rate plan"
    )
    notes = [create_credit_note(session, actor, credited.id, reason, dict(credits[credited.id]))
             for credited in locked if credited.id in credits]  # fmt: skip
    record(session, actor=actor, action="invoice.rerated", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"records": len(changes), "credit_note_ids": [note.id for note in notes],
                   "credited_minor": sum(sum(c.values()) for c in credits.values()),
                   "adjustments_minor": added})  # fmt: skip
    return [note.id for note in notes], added


def _to_credit(
    session: Session,
    invoice: Invoice,
    service: str,
    zone: str,
    locked: list[Invoice],
    amount: int,
    planned: dict[str, dict[int, int]],
) -> list[tuple[Invoice, int, int]]:
    """Where a decrease of `amount` on the invoice's line for service and zone is credited,
    as (invoice, line position, amount): that line, then the lines of finalised invoices
    that billed its adjustments for them; each capped by what is left to credit."""
    wanted = [(invoice, item_id_for(service, zone), None)]
    billed = session.execute(
        select(UsageAdjustment).where(
            UsageAdjustment.source_invoice_id == invoice.id,
            UsageAdjustment.service == service,
            UsageAdjustment.zone == zone,
            UsageAdjustment.invoice_id.is_not(None),
        )
    ).scalars()
    by_id = {other.id: other for other in locked if other.status in states.FINAL}
    for adjustment in billed:
        if adjustment.invoice_id in by_id:
            wanted.append((by_id[adjustment.invoice_id], *line_of(adjustment)))
    found = []
    for credited, item_id, description in dict.fromkeys(wanted):
        line = next((line for line in credited.lines if line.item_id == item_id
                     and description in (None, line.description)), None)  # fmt: skip
        if line is None:
            continue
        left = left_to_credit(session, credited)[line.position]
        take = min(amount, left - planned.get(credited.id, {}).get(line.position, 0))
        if take > 0:
            found.append((credited, line.position, take))
            amount -= take
        if not amount:
            break
    return found
