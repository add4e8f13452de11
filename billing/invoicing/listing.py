"""Finding invoices: `GET /v1/invoices`, newest first, by cursor.

The cursor is the position before which the next page starts: an invoice's creation
time in microseconds. Rows created in the same microsecond are never split across two
pages (a page ends after all of them), so a cursor is exact without a serial column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from billing.invoicing import states
from billing.invoicing.models import Invoice, PaymentStatus
from billing.invoicing.states import DocumentKind, InvoiceSource, InvoiceStatus
from invoices.vfd.receipt import EAT

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class InvoiceFilter:
    tenant_id: str | None = None
    kind: DocumentKind | None = None
    source: InvoiceSource | None = None
    status: InvoiceStatus | None = None
    period: date | None = None  # the first day of a month
    number: str | None = None
    payment_status: PaymentStatus | None = None
    topup_id: str | None = None
    final_only: bool = False  # a tenant's view: never drafts (nor voided drafts)


def position_of(invoice: Invoice) -> int:
    return (invoice.created_at - _EPOCH) // timedelta(microseconds=1)


def _at(position: int) -> datetime:
    return _EPOCH + timedelta(microseconds=position)


def _month(first: date) -> tuple[date, date]:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt


def list_invoices(
    session: Session, where: InvoiceFilter, *, before: int | None, limit: int
) -> tuple[list[Invoice], int | None]:
    """A page of at most about `limit` invoices, and the cursor of the next (None: last)."""
    query = select(Invoice)
    conditions = []
    for column, value in (
        (Invoice.tenant_id, where.tenant_id), (Invoice.kind, where.kind),
        (Invoice.source, where.source), (Invoice.status, where.status),
        (Invoice.number_text, where.number), (Invoice.payment_status, where.payment_status),
        (Invoice.topup_id, where.topup_id),
    ):  # fmt: skip
        if value is not None:
            conditions.append(column == value)
    if where.final_only:
        conditions.append(Invoice.status.in_(states.FINAL))
    if where.period is not None:
        first, nxt = _month(where.period)
        since = datetime.combine(first, time(0), EAT).astimezone(UTC)
        until = datetime.combine(nxt, time(0), EAT).astimezone(UTC)
        conditions.append(
            or_(
                and_(Invoice.period_start >= first, Invoice.period_start < nxt),
                and_(Invoice.period_start.is_(None), Invoice.issued_at >= since,
                     Invoice.issued_at < until),
            )  # a postpaid invoice by the month it bills; the others by their date of issue
        )  # fmt: skip
    if before is not None:
        conditions.append(Invoice.created_at < _at(before))
    query = query.where(*conditions).order_by(Invoice.created_at.desc(), Invoice.id.desc())
    rows = list(session.execute(query.limit(limit + 1)).scalars())
    if len(rows) <= limit:
        return rows, None
    page, boundary = rows[:limit], rows[limit - 1].created_at
    if rows[limit].created_at == boundary:  # never split one microsecond's rows
        ties = session.execute(
            query.where(Invoice.created_at == boundary, Invoice.id < rows[limit - 1].id)
        ).scalars()
        page += list(ties)
    return page, position_of(page[-1])
