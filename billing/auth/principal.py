"""Who is calling: resolved from the bearer key, never from the request body."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import event, select
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


# A key verified in the last KEY_TTL_S is not read again: the lookup was a transaction of
# its own (BEGIN, the RLS scope, the read, ROLLBACK), more than half of an authorisation's
# round trips. So a revocation takes effect at once in the process that made it (and for
# every caller once it commits there), and within KEY_TTL_S in every other process.
KEY_TTL_S = 2.0
_KEYS_HELD = 10_000
_verified: dict[tuple[str, str], tuple[float, Principal]] = {}


def cached(database: str, authorization: str | None) -> Principal | None:
    """The principal of a bearer key verified within KEY_TTL_S against `database`."""
    held = _verified.get((database, authorization or ""))
    if held is None:
        return None
    if held[0] <= time.monotonic():
        _verified.pop((database, authorization or ""), None)
        return None
    return held[1]


def forget_keys(session: Session | None = None) -> None:
    """Drop every verified key: a key was revoked. With `session`, again once its
    transaction commits, so no request verifying meanwhile keeps the key alive."""
    _verified.clear()
    if session is not None:
        event.listen(session, "after_commit", lambda _session: _verified.clear(), once=True)


def authenticate(
    session: Session, authorization: str | None, database: str | None = None
) -> Principal:
    """The caller a bearer key names; with `database`, remembered for KEY_TTL_S."""
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
    who = Principal(key.id, key.role, key.tenant_id, key.staff_user_id)
    if database is not None and authorization:
        if len(_verified) >= _KEYS_HELD:
            _verified.clear()
        _verified[(database, authorization)] = (time.monotonic() + KEY_TTL_S, who)
    return who
