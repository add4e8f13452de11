"""Top up by mobile money: the number, the operator suggested from it (changeable), then
"approve on your phone" with the status followed live (htmx polling; a refresh without
JavaScript). The same `request_topup` as POST /v1/topups."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from billing.auth.access import TENANT, principal, requires
from billing.core.errors import MalipoError
from billing.pages.forms import errors_of, load, minor_units
from billing.portal.blueprint import TOPUP_METHODS, bp
from billing.runtime import current
from billing.tenants.service import get_tenant
from billing.topups import service
from billing.topups.receipts import WALLET_NAMES
from billing.topups.schemas import TopupCreateSchema
from billing.topups.states import TopupStatus
from billing.web.session import request_session
from providers import msisdn as msisdns


def _operators() -> list[tuple[str, str]]:
    return [(code, WALLET_NAMES.get(code, code)) for code in current().gateways.enabled]


def _suggested(number: str) -> str | None:
    try:
        return msisdns.suggest_operator(number) if number else None
    except Exception:
        return None


@bp.route("/topup", methods=["GET", "POST"])
@requires(*TENANT)
def topup():
    tenant = get_tenant(request_session(), principal().tenant_id)
    form = {"amount": "", "msisdn": tenant.msisdn, "provider": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form.update({k: request.form.get(k, "").strip() for k in form})
        amount, errors = minor_units(form["amount"], tenant.currency)
        if not errors:
            data, errors = load(
                TopupCreateSchema(),
                {
                    "amount": amount,
                    "currency": tenant.currency,
                    "msisdn": form["msisdn"] or None,
                    "provider": form["provider"] or None,
                },
            )
        if not errors:
            try:
                made = service.request_topup(
                    request_session(), current().gateways, tenant.id, service.TopupRequest(**data)
                )
            except MalipoError as error:
                errors = errors_of(error)
            else:
                return redirect(url_for("portal.topup_status", topup_id=made.id), code=303)
    status = 422 if errors else 200
    return render_template(
        "portal/topup.html",
        tenant=tenant,
        form=form,
        errors=errors,
        operators=_operators(),
        suggested=_suggested(form["msisdn"]),
        methods=[(endpoint, label) for endpoint, label, on in TOPUP_METHODS if on()],
    ), status


@bp.get("/topup/operator")
@requires(*TENANT)
def suggest_operator():
    """The operator choice for a typed number (htmx swaps it in as the number changes)."""
    number = request.args.get("msisdn", "")
    return render_template(
        "portal/_operator.html",
        operators=_operators(),
        suggested=_suggested(number),
        chosen=request.args.get("provider", ""),
    )


@bp.get("/topups/<topup_id>")
@requires(*TENANT)
def topup_status(topup_id: str):
    made = service.get_topup(request_session(), topup_id, principal().tenant_id)
    template = (
        "portal/_topup_status.html"
        if request.headers.get("HX-Request")
        else "portal/topup_status.html"
    )
    return render_template(
        template,
        topup=made,
        pending=made.status is TopupStatus.PENDING,
        wallet_name=WALLET_NAMES.get(made.provider, made.provider),
        title=_("Approve on your phone"),
    )
