"""Use cases of auth: staff users and API keys. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auth import keys
from billing.auth.models import STAFF_ROLES, TENANT_ROLES, ApiKey, Role, StaffUser
from billing.auth.principal import forget_keys
from billing.core.clock import utcnow
from billing.core.errors import Conflict, InvalidInput
from billing.core.finders import owned
from billing.core.ids import new_id


@dataclass(frozen=True)
class WithToken:
    """Something just created, with a key token that is shown once and never stored."""

    subject: Any
    api_key: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.subject, name)


def issue_key(
    session: Session,
    *,
    role: Role,
    tenant_id: str | None = None,
    staff_user_id: str | None = None,
    label: str = "",
) -> tuple[ApiKey, str]:
    """A new key and its token; the token is shown once and never stored."""
    if (tenant_id is None) == (staff_user_id is None):
        raise ValueError("a key belongs to exactly one tenant or staff user")
    allowed = TENANT_ROLES if tenant_id else STAFF_ROLES
    if role not in allowed:
        raise InvalidInput.on("role", f"must be one of {sorted(r.value for r in allowed)}")
    material = keys.generate()
    key = ApiKey(
        id=new_id("key"),
        prefix=material.prefix,
        secret_sha256=material.secret_sha256,
        role=role,
        tenant_id=tenant_id,
        staff_user_id=staff_user_id,
        label=label,
    )
    session.add(key)
    session.flush()
    return key, material.token


def create_staff(session: Session, *, email: str, role: Role) -> tuple[StaffUser, str]:
    email = email.strip().lower()
    if session.execute(select(StaffUser.id).where(StaffUser.email == email)).first():
        raise Conflict(f"a staff user {email} exists already", {"email": ["already exists"]})
    user = StaffUser(id=new_id("stf"), email=email, role=role)
    session.add(user)
    session.flush()
    _key, token = issue_key(session, role=role, staff_user_id=user.id, label="first key")
    return user, token


def revoke_key(session: Session, *, key_id: str, tenant_id: str | None) -> ApiKey:
    """Revoke a key; a tenant may revoke only its own (others' answer 404)."""
    key = owned(session, ApiKey, key_id, tenant_id, "API key", lock=True)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    forget_keys(session)
    return key
