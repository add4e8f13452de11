"""Portal links: made by the platform for one tenant user, opened once, within minutes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from billing.auth.models import TENANT_ROLES, Role
from billing.core import scoping
from billing.core.clock import utcnow
from billing.core.errors import InvalidInput, NotFound
from billing.core.ids import new_id
from billing.portal.models import PortalLink
from billing.tenants.models import TenantStatus
from billing.tenants.service import get_tenant

VALID_FOR = timedelta(minutes=5)
_links = PortalLink.__table__


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    session: Session,
    *,
    actor: str,
    tenant_id: str,
    user_email: str,
    role: Role,
    return_url: str | None,
    now: datetime | None = None,
) -> tuple[PortalLink, str]:
    """A link for one tenant user; the token is returned once and only its hash kept."""
    if role not in TENANT_ROLES:
        raise InvalidInput.on("role", "must be tenant_admin or tenant_user")
    tenant = get_tenant(session, tenant_id)
    if tenant.status is TenantStatus.SUSPENDED:
        raise InvalidInput.on("tenant_id", "the tenant is suspended")
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    link = PortalLink(
        id=new_id("pls"),
        token_sha256=_digest(token),
        tenant_id=tenant_id,
        user_email=user_email.strip().lower(),
        role=role,
        return_url=return_url,
        created_by=actor,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(link)
    session.flush()
    return link, token


def redeem(session: Session, token: str, now: datetime | None = None) -> PortalLink:
    """Use a link: exactly once (a conditional update, so two racing opens get one
    session), before it expires, for a tenant still active."""
    now = now or utcnow()
    used = session.execute(
        update(_links)
        .where(
            _links.c.token_sha256 == _digest(token),
            _links.c.used_at.is_(None),
            _links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(_links.c.id, _links.c.tenant_id)
    ).first()
    if used is None:
        raise NotFound("this portal link is not valid: it was used already, or it expired")
    # Found by what the browser presented: from now on, that tenant's rows (RLS) only.
    scoping.set_scope(session, scoping.Scope.tenant(used.tenant_id))
    link = session.get(PortalLink, used.id)
    assert link is not None
    if get_tenant(session, link.tenant_id).status is TenantStatus.SUSPENDED:
        raise NotFound("this portal link is not valid: the account is suspended")
    return link
