"""The portal's blueprint and its navigation.

NAV is the place for what other capabilities add: the cards issue appends its card
top-up page, the disputes issue its disputes page (each a (endpoint, label) pair, and
`PORTAL_SLOTS` names where a page shows their links, e.g. 'Dispute this charge').
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from billing.auth.models import Role
from billing.pages.guard import guard
from billing.pages.models import WebSession
from billing.tenants.models import Tenant, TenantStatus
from billing.web.session import request_session

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _tenant_active(row: WebSession) -> bool:
    """A tenant suspended since its link was opened is out at its next page."""
    tenant = request_session().get(Tenant, row.tenant_id)
    return tenant is not None and tenant.status is TenantStatus.ACTIVE


guard(bp, "portal", sign_in_endpoint=None, open_endpoints={"portal.start"},
      still_allowed=_tenant_active)  # fmt: skip

# (endpoint, label, roles allowed: None for every tenant role)
NAV: list[tuple[str, object, tuple[Role, ...] | None]] = [
    ("portal.overview", _l("Overview"), None),
    ("portal.topup", _l("Top up"), None),
    ("portal.statement", _l("Statement"), None),
    ("portal.usage", _l("Usage"), None),
    ("portal.invoices", _l("Invoices and receipts"), None),
    ("portal.card", _l("Card"), None),
    ("portal.disputes", _l("Disputes"), None),
    ("portal.api_keys", _l("API keys"), (Role.TENANT_ADMIN,)),
    ("portal.profile", _l("Profile"), None),
]
# Endpoints other capabilities register for a charge's row ("dispute this charge").
PORTAL_SLOTS: dict[str, list[tuple[str, object]]] = {"charge_actions": []}
# Other ways to top up, offered on the top-up page: (endpoint, label, whether it is on now).
TOPUP_METHODS: list[tuple[str, object, Callable[[], bool]]] = []
