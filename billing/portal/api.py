"""POST /v1/portal-sessions: the platform (a staff key) asks for a one-time portal link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask.views import MethodView

from billing.auth.access import STAFF, principal, requires
from billing.portal import links
from billing.portal.schemas import PortalSessionCreateSchema, PortalSessionSchema
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("portal_sessions", __name__, url_prefix="/v1", description="Portal sessions")


@dataclass(frozen=True)
class _Created:
    id: str
    url: str
    tenant_id: str
    user_email: str
    role: str
    expires_at: datetime


@blp.route("/portal-sessions")
class PortalSessions(MethodView):
    @idempotent(shown_once=("url",))
    @requires(*STAFF)
    @blp.arguments(PortalSessionCreateSchema)
    @blp.response(201, PortalSessionSchema)
    def post(self, data: dict):
        """A one-time link into the tenant's billing portal, valid for minutes."""
        link, token = links.create_link(request_session(), actor=principal().actor, **data)
        base = current().settings.public_url.rstrip("/")
        return _Created(
            link.id,
            f"{base}/portal/start/{token}",
            link.tenant_id,
            link.user_email,
            link.role.value,
            link.expires_at,
        )
