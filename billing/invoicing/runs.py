"""Invoice runs: a draft for every postpaid tenant for a period, idempotent per
(tenant, period) — the partial unique index makes a second run, or a racing one, find
the first run's draft instead of making another.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.errors import MalipoError
from billing.invoicing.service import NothingToInvoice, create_postpaid_draft
from billing.tenants.models import BillingMode, Tenant, TenantStatus


@dataclass
class RunResult:
    period_start: date
    period_end: date
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # tenants with no usage in the period
    failed: dict[str, str] = field(default_factory=dict)


def month(period: str) -> tuple[date, date]:
    """`2026-10` → (2026-10-01, 2026-11-01): the end is exclusive."""
    year, _, mon = period.partition("-")
    if not (year.isdigit() and mon.isdigit() and 1 <= int(mon) <= 12 and len(year) == 4):
        raise ValueError("a period is YYYY-MM, e.g. 2026-10")
    start = date(int(year), int(mon), 1)
    days = calendar.monthrange(start.year, start.month)[1]
    end = date.fromordinal(start.toordinal() + days)
    return start, end


def postpaid_tenants(session: Session) -> list[str]:
    query = (
        select(Tenant.id)
        .where(Tenant.billing_mode == BillingMode.POSTPAID, Tenant.status == TenantStatus.ACTIVE)
        .order_by(Tenant.id)
    )
    return list(session.execute(query).scalars())


def run(
    session: Session,
    actor: str,
    start: date,
    end: date,
    tenant_ids: Iterable[str] | None = None,
    each: Callable[[str], None] = lambda _tenant: None,
) -> RunResult:
    """Drafts for the period in one transaction; a tenant that fails is named, not fatal."""
    result = RunResult(start, end)
    for tenant_id in postpaid_tenants(session) if tenant_ids is None else tenant_ids:
        try:
            with session.begin_nested():
                invoice, created = create_postpaid_draft(session, actor, tenant_id, start, end)
        except NothingToInvoice:
            result.skipped.append(tenant_id)
        except MalipoError as error:
            result.failed[tenant_id] = error.detail
        else:
            (result.created if created else result.existing).append(invoice.id)
        each(tenant_id)
    record(session, actor=actor, action="invoice_run.completed", subject_type="invoice_run",
           subject_id=f"{start.isoformat()}/{end.isoformat()}",
           detail={"created": len(result.created), "existing": len(result.existing),
                   "skipped": len(result.skipped), "failed": result.failed})  # fmt: skip
    return result
