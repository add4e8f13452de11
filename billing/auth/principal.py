"""Who is calling: resolved from the bearer key, never from the request body."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auth import keys
from billing.auth.models import ApiKey, Role
from billing.core.errors import Forbidden, NotFound, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    tenant_id: str | None = None
    staff_user_id: str | None = None
    # Tests only (Settings.application_scoping off): the application hands its code a
    # principal that owns nothing in particular and may see any tenant, so row-level
    # security alone stands between this caller and another tenant's rows.
    unscoped: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def actor(self) -> str:
        """Who an audit record names: the staff user, else the key."""
        return self.staff_user_id or self.key_id

    @property
    def scope(self) -> str:
        """The namespace of this caller's idempotency keys."""
        return f"tenant:{self.tenant_id}" if self.tenant_id else f"staff:{self.staff_user_id}"

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"the {self.role} role may not do this")

    def tenant_for(self, requested: str | None) -> str:
        """The tenant a request acts on: a tenant key's own; staff must name one."""
        if self.tenant_id is not None:
            if requested not in (None, self.tenant_id):
                raise NotFound(f"tenant {requested} not found")
            return self.tenant_id
        if not requested:
            raise Forbidden(
                "staff keys name the tenant with tenant_id", {"tenant_id": ["required"]}
            )
        return requested

    def can_see_tenant(self, tenant_id: str) -> bool:
        return self.is_staff or self.unscoped or self.tenant_id == tenant_id


def authenticate(session: Session, authorization: str | None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send `Authorization: Bearer <api key>`")
    material = keys.parse(token.strip())
    if material is None:
        raise Unauthenticated("the API key is malformed")
    key = session.execute(select(ApiKey).where(ApiKey.prefix == material.prefix)).scalar()
    if key is None or not keys.matches(material.secret, key.secret_sha256):
        raise Unauthenticated("the API key is not valid")
    if key.revoked_at is not None:
        raise Unauthenticated("the API key has been revoked")
    return Principal(key.id, key.role, key.tenant_id, key.staff_user_id)
