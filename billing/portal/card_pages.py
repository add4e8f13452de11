"""The saved card in the portal: what Stripe shows of it (brand, last four, expiry), saving
one with a SetupIntent confirmed by Stripe.js (the hosted payment page's script and CSP),
removing it, and the auto-recharge rule. The same `billing.cards.saved` functions as
/v1/saved-card, in the tenant's scope; the card number never reaches Malipo."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from billing.auth.access import TENANT, principal, requires
from billing.cards import saved
from billing.cards.models import SavedCard
from billing.cards.schemas import AutoRechargeSchema
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.core.money import Currency
from billing.pages.forms import Errors, errors_of, load, minor_units
from billing.paypage.views import card_policy
from billing.portal.blueprint import TOPUP_METHODS, bp
from billing.runtime import current
from billing.tenants.service import get_tenant
from billing.topups.gateways import CARD
from billing.web.session import request_session

FIELDS = ("threshold", "amount", "enabled")


def _available() -> bool:
    return CARD in current().gateways.enabled


TOPUP_METHODS.append(("portal.card", _l("Top up automatically from a card"), _available))


def _card(tenant_id: str, *, read_back: bool) -> SavedCard | None:
    """The saved card; read back from Stripe as GET /v1/saved-card does, unless the
    request has just done so (setting the rule reads it back itself)."""
    session = request_session()
    if not _available() or session.get(SavedCard, tenant_id) is None:
        return None
    if not read_back:
        return session.get(SavedCard, tenant_id)
    return saved.get_saved(session, current().gateways, tenant_id)


@bp.route("/card", methods=["GET", "POST"])
@requires(*TENANT)
def card():
    """The card and the auto-recharge form (POST: the rule, as PUT .../auto-recharge)."""
    who = principal()
    session, gateways = request_session(), current().gateways
    currency = get_tenant(session, who.tenant_id).currency.value
    # The expiry is asked of Stripe before the row is locked (reading the card back and
    # setting the rule lock it): no call to Stripe waits on, or holds, a row lock of ours.
    known = session.get(SavedCard, who.tenant_id) if _available() else None
    method_id = known.payment_method_id if known else None
    expiry = saved.expiry(gateways, known) if known else None
    errors: Errors = {}
    posted = request.method == "POST"
    if posted:
        form = {name: request.form.get(name, "").strip() for name in FIELDS}
        errors = _set_rule(form, currency)
    row = _card(who.tenant_id, read_back=not posted)
    if row is not None and row.payment_method_id != method_id:  # a card set up just now
        expiry = saved.expiry(gateways, row)
    if not posted:
        form = {
            "threshold": _major(row.threshold_minor, currency) if row else "",
            "amount": _major(row.recharge_minor, currency) if row else "",
            "enabled": "on" if row and row.enabled else "",
        }
    return render_template(
        "portal/card.html",
        available=_available(),
        card=row,
        expiry=expiry,
        form=form,
        errors=errors,
        saved_rule=posted and not errors,
        currency=currency,
    ), (422 if errors else 200)


def _set_rule(form: dict[str, str], currency: str) -> Errors:
    """The rule through the API's schema and `set_auto_recharge`; messages by field."""
    threshold, errors = _minor(form["threshold"], currency, "threshold", zero=True)
    amount, amount_errors = _minor(form["amount"], currency, "amount")
    errors |= amount_errors
    if errors:
        return errors
    data, errors = load(
        AutoRechargeSchema(),
        {"threshold": threshold, "amount": amount, "enabled": form["enabled"] == "on"},
    )
    if data is None:
        return errors
    try:
        saved.set_auto_recharge(
            request_session(), current().gateways, principal().tenant_id, **data
        )
    except NotFound:
        return {"_form": [str(_l("Save a card first."))]}
    except (InvalidInput, Conflict) as error:
        return errors_of(error)
    return {}


@bp.post("/card/setup")
@requires(*TENANT)
def card_setup() -> Response:
    """A SetupIntent (as POST /v1/saved-card) and the page where Stripe.js takes the card:
    scripts from here and Stripe's origin only, as on the payment page."""
    setup = saved.start_setup(request_session(), current().gateways, principal().tenant_id)
    adapter = current().gateways.adapter(CARD)
    response = Response(
        render_template(
            "portal/card_setup.html",
            client_secret=setup["client_secret"],
            publishable_key=setup["publishable_key"],
            js_url=adapter.config.js_url,
        ),
        mimetype="text/html",
    )
    response.headers["Content-Security-Policy"] = card_policy()
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/card/remove")
@requires(*TENANT)
def card_remove() -> Response:
    saved.remove_card(request_session(), current().gateways, principal().tenant_id)
    return redirect(url_for("portal.card", removed=1), code=303)


def _minor(text: str, currency: str, field: str, *, zero: bool = False) -> tuple[int, Errors]:
    """An amount typed in major units; the threshold may be nought (recharge when empty)."""
    try:
        if zero and Decimal(text.replace(",", "").strip() or "x") == 0:
            return 0, {}
    except InvalidOperation:
        pass
    amount, errors = minor_units(text, currency, field)
    return amount or 0, errors


def _major(minor: int | None, currency: str) -> str:
    """A stored amount as the form shows it: major units, no sign, no separators."""
    if minor is None:
        return ""
    return str(Decimal(minor).scaleb(-Currency(currency).exponent))
