"""Restriction of processing (PDPA): the tenant's data is kept, but nothing is done with
it beyond what the law requires. While restricted, authorisation answers
`processing_restricted`, rating rejects its records with that reason (kept, and rated
once lifted by a re-rate), and top-ups are refused; invoices already owed, fiscal
receipts and exports still run. Cached standings elsewhere expire within seconds."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.errors import NotFound
from billing.tariffs.standings import forget_standings
from billing.tenants.models import Tenant


def set_restriction(
    session: Session, actor: str, tenant_id: str, reason: str | None, restricted: bool
) -> Tenant:
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    was = tenant.restricted_at is not None
    if restricted and not was:
        tenant.restricted_at, tenant.restriction_reason = utcnow(), reason
    elif not restricted and was:
        tenant.restricted_at = tenant.restriction_reason = None
    if was != restricted:
        record(session, actor=actor, subject_type="tenant", subject_id=tenant.id,
               action="tenant.restricted" if restricted else "tenant.restriction_lifted",
               tenant_id=tenant.id)  # fmt: skip
    forget_standings()
    return tenant
