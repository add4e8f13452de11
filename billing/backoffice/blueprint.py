"""The back office's blueprint and navigation (by role). Pages that other issues add
(disputes, adjustments, reconciliations) append to NAV."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from billing.auth.models import Role
from billing.pages.guard import guard

bp = Blueprint("office", __name__, url_prefix="/office")
guard(
    bp,
    "staff",
    sign_in_endpoint="office.sign_in",
    open_endpoints={"office.sign_in", "office.second_factor"},
)

STAFF = (Role.ADMIN, Role.FINANCE)
NAV: list[tuple[str, object, tuple[Role, ...]]] = [
    ("office.home", _l("Home"), STAFF),
    ("office.reviews", _l("Review queue"), STAFF),
    ("office.invoices", _l("Invoices"), STAFF),
    ("office.invoice_runs", _l("Invoice runs"), (Role.FINANCE,)),
    ("office.zreports", _l("Z reports"), STAFF),
    ("office.tenants", _l("Tenants"), (Role.ADMIN,)),
    ("office.rate_plans", _l("Rate plans"), (Role.ADMIN,)),
    ("office.destinations", _l("Destinations"), (Role.ADMIN,)),
    ("office.audit", _l("Audit trail"), (Role.ADMIN,)),
    # Disputes, adjustments and reconciliations go here when those issues land.
]
