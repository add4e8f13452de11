"""What a dispute is about, found for its tenant: another tenant's id is 404, never data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from billing.core.errors import InvalidInput, NotFound
from billing.disputes.models import SubjectType
from billing.invoicing.models import Invoice
from billing.invoicing.states import FINAL
from billing.tenants.models import Tenant
from billing.topups.models import Topup
from billing.usage.models import UsageRecord
from billing.usage.statements import INVOICE_ZONE


@dataclass(frozen=True)
class Subject:
    type: SubjectType
    id: str
    currency: str
    line_position: int | None = None
    period: tuple[date, date] | None = None  # the usage it concerns, local days


def find_subject(
    session: Session,
    tenant_id: str,
    subject_type: SubjectType,
    subject_id: str | None,
    *,
    line: int | None = None,
    period: tuple[date, date] | None = None,
) -> Subject:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    if subject_type is SubjectType.USAGE_PERIOD:
        if period is None:
            raise InvalidInput.on("period_start", "a usage period names its first and last day")
        start, end = period
        if end <= start:
            raise InvalidInput.on("period_end", "must be after period_start")
        if end - start > timedelta(days=93):
            raise InvalidInput.on("period_end", "a disputed period is at most 93 days")
        return Subject(
            subject_type,
            f"{start.isoformat()}/{end.isoformat()}",
            tenant.currency.value,
            period=period,
        )
    if not subject_id:
        raise InvalidInput.on("subject_id", "name the top-up, usage record or invoice")
    missing = NotFound(f"{subject_type.value.replace('_', ' ')} {subject_id} not found")
    if subject_type is SubjectType.TOPUP:
        topup = session.get(Topup, subject_id)
        if topup is None or topup.tenant_id != tenant_id:
            raise missing
        return Subject(subject_type, topup.id, topup.currency)
    if subject_type is SubjectType.USAGE:
        readable = subject_id.isascii() and subject_id.isdigit() and len(subject_id) <= 18
        record = session.get(UsageRecord, int(subject_id)) if readable else None
        if record is None or record.tenant_id != tenant_id:
            raise missing
        day = record.occurred_at.astimezone(INVOICE_ZONE).date()
        return Subject(
            subject_type,
            str(record.id),
            record.currency or tenant.currency.value,
            period=(day, day + timedelta(days=1)),
        )
    invoice = session.get(Invoice, subject_id)
    if invoice is None or invoice.tenant_id != tenant_id or invoice.status not in FINAL:
        raise missing
    if subject_type is SubjectType.INVOICE_LINE or line is not None:
        if line is None:
            raise InvalidInput.on("line", "name the invoice line's position")
        if line not in {existing.position for existing in invoice.lines}:
            raise InvalidInput.on("line", f"invoice {invoice.id} has no line {line}")
        return Subject(SubjectType.INVOICE_LINE, invoice.id, invoice.currency, line_position=line)
    period = (
        (invoice.period_start, invoice.period_end)
        if invoice.period_start and invoice.period_end
        else None
    )
    return Subject(SubjectType.INVOICE, invoice.id, invoice.currency, period=period)
