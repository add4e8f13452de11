"""API keys (a tenant admin creates one, shown once, and revokes) and the profile
(address, TIN/VRN, language): the API's schemas and service functions."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from sqlalchemy import select

from billing.auth import service as auth
from billing.auth.access import TENANT, principal, requires
from billing.auth.models import ApiKey, Role
from billing.auth.schemas import ApiKeyCreateSchema
from billing.core.errors import MalipoError
from billing.pages.forms import errors_of, load
from billing.portal.blueprint import bp
from billing.tenants import service as tenants
from billing.tenants.schemas import TenantUpdateSchema
from billing.web.session import request_session

PROFILE_FIELDS = ("street", "po_box", "city", "country", "language", "tin", "vrn")


def _keys(tenant_id: str) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at.desc())
    return list(request_session().execute(query).scalars())


@bp.route("/api-keys", methods=["GET", "POST"])
@requires(Role.TENANT_ADMIN)
def api_keys():
    who = principal()
    created = None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load(
            ApiKeyCreateSchema(),
            {
                "role": request.form.get("role", ""),
                "label": request.form.get("label", "").strip(),
            },
        )
        if not errors:
            key, token = auth.issue_key(request_session(), tenant_id=who.tenant_id, **data)
            created = (key, token)
    return render_template(
        "portal/api_keys.html",
        keys=_keys(who.tenant_id),
        created=created,
        errors=errors,
    ), (422 if errors else 200)


@bp.post("/api-keys/<key_id>/revoke")
@requires(Role.TENANT_ADMIN)
def revoke_key(key_id: str):
    auth.revoke_key(request_session(), key_id=key_id, tenant_id=principal().tenant_id)
    return redirect(url_for("portal.api_keys"), code=303)


@bp.route("/profile", methods=["GET", "POST"])
@requires(*TENANT)
def profile():
    who = principal()
    session = request_session()
    tenant = tenants.get_tenant(session, who.tenant_id)
    errors: dict[str, list[str]] = {}
    saved = False
    if request.method == "POST":
        who.require(Role.TENANT_ADMIN)  # as PATCH /v1/tenants/{id}
        given = {name: request.form.get(name, "").strip() for name in PROFILE_FIELDS}
        changes = {name: (value or None) for name, value in given.items()}
        changes["country"] = given["country"] or "TZ"
        changes["language"] = given["language"] or tenant.language.value
        data, errors = load(TenantUpdateSchema(), changes)
        if not errors:
            try:
                tenants.update_tenant(session, who.actor, tenant.id, data)
            except MalipoError as error:
                errors = errors_of(error)
            else:
                cookie["lang"] = tenant.language.value
                saved = True
    return render_template(
        "portal/profile.html",
        tenant=tenant,
        errors=errors,
        saved=saved,
        can_edit=who.role is Role.TENANT_ADMIN,
        message=_("Saved.") if saved else "",
    ), (422 if errors else 200)
