"""Lists of invoices: a tenant sees only its own final documents (never drafts or voided
ones, as `service.get_invoice` rules); staff see every one, by filter."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoicing import states
from billing.invoicing.models import Invoice


def list_invoices(
    session: Session,
    *,
    tenant_id: str | None,
    as_tenant: bool,
    status: str | None = None,
    kind: str | None = None,
    number: str | None = None,
    limit: int = 50,
) -> list[Invoice]:
    query = select(Invoice).order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(limit)
    if tenant_id is not None:
        query = query.where(Invoice.tenant_id == tenant_id)
    if as_tenant:
        query = query.where(Invoice.status.in_(tuple(states.FINAL)))
    if status:
        query = query.where(Invoice.status == status)
    if kind:
        query = query.where(Invoice.kind == kind)
    if number:
        query = query.where(Invoice.number_text == number)
    return list(session.execute(query).scalars())
