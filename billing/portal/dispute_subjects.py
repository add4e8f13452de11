"""What a dispute is about, in the tenant's words: a label for a list row, and the charge
itself (found through the disputes' own `find_subject`, so another tenant's is 404) for
the form that opens one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.disputes.models import Dispute, SubjectType
from billing.disputes.subjects import Subject, find_subject
from billing.invoicing.models import Invoice
from billing.pages.i18n import day, last_day
from billing.topups.models import Topup
from billing.usage.models import UsageRecord

KINDS = tuple(kind.value for kind in SubjectType)


@dataclass(frozen=True)
class Charge:
    """The disputed charge as the form shows it: the subject and its row."""

    subject: Subject
    row: Topup | UsageRecord | Invoice | None


def label(
    kind: SubjectType,
    subject_id: str,
    *,
    line: int | None = None,
    period: tuple[date | None, date | None] = (None, None),
    number: str | None = None,
) -> str:
    if kind is SubjectType.TOPUP:
        return _("Top-up %(id)s", id=subject_id)
    if kind is SubjectType.USAGE:
        return _("Usage record %(id)s", id=subject_id)
    if kind is SubjectType.USAGE_PERIOD:
        return _("Usage from %(start)s to %(end)s", start=day(period[0]), end=last_day(period[1]))
    if kind is SubjectType.INVOICE_LINE:
        return _("Line %(line)s of %(number)s", line=line, number=number or subject_id)
    return _("Invoice %(number)s", number=number or subject_id)


def labels_of(session: Session, disputes: list[Dispute]) -> dict[str, str]:
    """Each dispute's subject label; invoices by their printed number (one query)."""
    invoice_ids = {
        d.subject_id
        for d in disputes
        if d.subject_type in (SubjectType.INVOICE, SubjectType.INVOICE_LINE)
    }
    numbers = dict(
        session.execute(
            select(Invoice.id, Invoice.number_text).where(Invoice.id.in_(invoice_ids))
        ).all()
        if invoice_ids
        else []
    )
    return {d.id: label_of(d, numbers.get(d.subject_id)) for d in disputes}


def label_of(dispute: Dispute, number: str | None = None) -> str:
    return label(
        dispute.subject_type,
        dispute.subject_id,
        line=dispute.line_position,
        period=(dispute.period_start, dispute.period_end),
        number=number,
    )


def charge(
    session: Session,
    tenant_id: str,
    kind: SubjectType,
    subject_id: str | None,
    *,
    line: int | None = None,
    period: tuple[date, date] | None = None,
) -> Charge:
    """The tenant's own charge (NotFound otherwise, as the API answers), with its row."""
    subject = find_subject(session, tenant_id, kind, subject_id, line=line, period=period)
    row: Topup | UsageRecord | Invoice | None = None
    if subject.type is SubjectType.TOPUP:
        row = session.get(Topup, subject.id)
    elif subject.type is SubjectType.USAGE:
        row = session.get(UsageRecord, int(subject.id))
    elif subject.type in (SubjectType.INVOICE, SubjectType.INVOICE_LINE):
        row = session.get(Invoice, subject.id)
    return Charge(subject, row)
