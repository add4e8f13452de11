"""The aged-receivables report: what each tenant owes, by the age of its invoices
(0-30, 31-60, 61-90, 90+ days since issue, EAT), and how much of it is overdue.

Its total is, by construction, the tenant's `receivable` in the ledger: every postpaid
invoice's amount due (gross, less credit notes, payments and credit brought in, plus
credit taken out) and nothing else moves that account. Each row carries the ledger's
figure beside it, so a difference shows instead of hiding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.dunning.schedule import AGE_BUCKETS, bucket
from billing.invoicing import payments, states
from billing.invoicing.models import Invoice
from billing.invoicing.states import InvoiceSource
from billing.ledger.balances import account_balance
from billing.ledger.postings import RECEIVABLE
from invoices.vfd.receipt import EAT


@dataclass
class AgedRow:
    tenant_id: str
    currency: str
    buckets: dict[str, int] = field(default_factory=lambda: {b[2]: 0 for b in AGE_BUCKETS})
    total: int = 0
    overdue: int = 0  # of the total, past its due date
    invoices: int = 0
    ledger_receivable: int = 0  # what the ledger says the tenant owes

    @property
    def matches_ledger(self) -> bool:
        return self.total == self.ledger_receivable


def aged_receivables(
    session: Session, as_of: date, tenant_id: str | None = None, currency: str | None = None
) -> list[AgedRow]:
    query = select(Invoice).where(
        Invoice.source == InvoiceSource.POSTPAID, Invoice.status.in_(states.FINAL)
    )
    if tenant_id is not None:
        query = query.where(Invoice.tenant_id == tenant_id)
    if currency is not None:
        query = query.where(Invoice.currency == currency)
    rows: dict[tuple[str, str], AgedRow] = {}
    for invoice in session.execute(query.order_by(Invoice.tenant_id, Invoice.id)).scalars():
        due = payments.amount_due(session, invoice)
        key = (invoice.tenant_id, invoice.currency)
        row = rows.setdefault(key, AgedRow(*key))
        if due == 0:
            continue
        age = (as_of - invoice.issued_at.astimezone(EAT).date()).days
        row.buckets[bucket(age)] += due
        row.total += due
        row.invoices += 1
        if invoice.due_on is not None and invoice.due_on < as_of and due > 0:
            row.overdue += due
    for (tenant, money), row in rows.items():
        # receivable is credit-normal here: an invoice posts -gross, a payment +amount.
        row.ledger_receivable = -account_balance(session, tenant, RECEIVABLE, money).balance_minor
    return sorted((r for r in rows.values() if r.total or r.ledger_receivable),
                  key=lambda r: (r.currency, -r.total, r.tenant_id))  # fmt: skip


def totals(rows: list[AgedRow]) -> dict[str, dict[str, int]]:
    """Per currency: each bucket, total, overdue and the ledger's receivable."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for name, amount in row.buckets.items():
            out[row.currency][name] += amount
        out[row.currency]["total"] += row.total
        out[row.currency]["overdue"] += row.overdue
        out[row.currency]["ledger_receivable"] += row.ledger_receivable
    return {money: dict(values) for money, values in out.items()}
