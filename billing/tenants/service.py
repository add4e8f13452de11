"""Use cases of tenants. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.auth.models import Role
from billing.auth.service import WithToken, issue_key
from billing.core.errors import NotFound
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.ledger.postings import WALLET
from billing.ledger.service import ensure_account
from billing.tenants.models import BillingMode, Language, Tenant


@dataclass(frozen=True)
class NewTenant:
    name: str
    email: str
    msisdn: str
    billing_mode: BillingMode
    currency: Currency
    tin: str | None = None
    vrn: str | None = None
    street: str | None = None
    po_box: str | None = None
    city: str | None = None
    country: str = "TZ"
    language: Language = Language.EN
    payment_terms_days: int = 30


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


# Rectification (PDPA): every detail the tenant gave can be corrected. Documents already
# finalised keep the parties frozen in them; a TIN or VRN change applies to later ones.
UPDATABLE = frozenset(
    {
        "street",
        "po_box",
        "city",
        "country",
        "language",
        "name",
        "email",
        "msisdn",
        "tin",
        "vrn",
        "payment_terms_days",
    }
)


def update_tenant(session: Session, actor: str, tenant_id: str, changes: dict[str, Any]) -> Tenant:
    """Change a tenant's address, TIN/VRN or language; later documents show it."""
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    before = {name: _plain(getattr(tenant, name)) for name in changes}
    for name, value in changes.items():
        setattr(tenant, name, value)
    after = {name: _plain(value) for name, value in changes.items()}
    if before != after:
        record(session, actor=actor, action="tenant.updated", subject_type="tenant",
               subject_id=tenant.id, tenant_id=tenant.id,
               detail={"before": before, "after": after})  # fmt: skip
    return tenant


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Language) else value
