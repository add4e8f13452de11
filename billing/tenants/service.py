"""Use cases of tenants. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.auth.models import Role
from billing.auth.service import WithToken, issue_key
from billing.core.errors import NotFound
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.ledger.postings import WALLET
from billing.ledger.service import ensure_account
from billing.tenants.models import BillingMode, Tenant


@dataclass(frozen=True)
class NewTenant:
    name: str
    email: str
    msisdn: str
    billing_mode: BillingMode
    currency: Currency
    tin: str | None = None
    vrn: str | None = None


def create_tenant(session: Session, new: NewTenant) -> WithToken:
    """The tenant, its wallet, and a first `tenant_admin` key."""
    tenant = Tenant(id=new_id("ten"), **vars(new))
    session.add(tenant)
    session.flush()
    ensure_account(session, tenant.id, WALLET, new.currency)
    _key, token = issue_key(session, role=Role.TENANT_ADMIN, tenant_id=tenant.id, label="first key")
    return WithToken(tenant, token)


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant
