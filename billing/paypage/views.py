"""`/pay/<token>`: the page, its result page, its status, and the mobile-money choice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from sqlalchemy import select

from billing.core import scoping
from billing.core.errors import InvalidInput, MalipoError
from billing.paypage.strings import LANGUAGES, table
from billing.paypage.tokens import token_for, topup_of
from billing.runtime import current
from billing.tenants.models import Tenant
from billing.topups import service
from billing.topups.gateways import CARD
from billing.topups.models import Topup, TopupStatus
from billing.web.session import request_session

blueprint = Blueprint(
    "paypage",
    __name__,
    url_prefix="/pay",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


def _load(token: str) -> tuple[Topup, Tenant]:
    """The top-up the signed token names; from then on the request sees its tenant's rows
    only (row-level security), as a tenant's own key would."""
    topup_id = topup_of(current().settings.secret_key, token)
    if topup_id is None:
        abort(404)
    session = request_session()
    # The signature is the proof for this one top-up: its owner is read past the
    # anonymous scope, then everything else in the tenant's own scope.
    scoping.set_scope(session, scoping.SYSTEM)
    tenant_id = session.execute(select(Topup.tenant_id).where(Topup.id == topup_id)).scalar()
    if tenant_id is None:
        abort(404)
    scoping.set_scope(session, scoping.Scope.tenant(tenant_id))
    topup = session.get(Topup, topup_id)
    if topup is None:
        abort(404)
    return topup, session.get(Tenant, tenant_id)


def _language(tenant: Tenant) -> str:
    asked = request.args.get("lang") or request.form.get("lang")
    return asked if asked in LANGUAGES else tenant.language.value


def amount_text(amount_minor: int, currency: str) -> str:
    major, minor = divmod(amount_minor, 100)
    return f"{currency} {major:,}.{minor:02d}"


@blueprint.get("/<token>")
def page(token: str) -> Response:
    topup, tenant = _load(token)
    language = _language(tenant)
    if topup.status is not TopupStatus.PENDING or topup.provider != CARD:
        return redirect(f"/pay/{token}/result?lang={language}", code=303)
    gateways = current().gateways
    adapter = gateways.adapter(CARD)
    try:
        intent = adapter.api.retrieve_payment_intent(topup.provider_ref)
    except Exception:  # Stripe away: the payer may reload, or pay by mobile money
        intent = {}
    return _html(
        "paypage/pay.html",
        language,
        tenant=tenant,
        topup=topup,
        token=token,
        amount=amount_text(topup.amount_minor, topup.currency),
        client_secret=intent.get("client_secret") or "",
        publishable_key=adapter.config.publishable_key,
        js_url=adapter.config.js_url,
        mobile=topup.currency == "TZS",
    )


@blueprint.get("/<token>/result")
def result(token: str) -> Response:
    topup, tenant = _load(token)
    language = _language(tenant)
    return _html(
        "paypage/result.html",
        language,
        tenant=tenant,
        topup=topup,
        token=token,
        amount=amount_text(topup.amount_minor, topup.currency),
        mobile=topup.provider != CARD,
    )


@blueprint.get("/<token>/status")
def status(token: str) -> Response:
    topup, _tenant = _load(token)
    response = jsonify({"status": topup.status.value, "failure_reason": topup.failure_reason})
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/<token>/mobile-money")
def mobile_money(token: str) -> Response:
    """Pay the same amount by mobile money instead: a top-up of its own, pushed to the
    payer's phone; its result page follows it."""
    topup, tenant = _load(token)
    language = _language(tenant)
    if topup.status is not TopupStatus.PENDING:
        return redirect(f"/pay/{token}/result?lang={language}", code=303)
    try:
        pushed = service.request_topup(
            request_session(),
            current().gateways,
            tenant.id,
            service.TopupRequest(
                amount=topup.amount_minor,
                currency=topup.currency,
                msisdn=request.form.get("msisdn") or "",
            ),
        )
    except InvalidInput:
        return redirect(f"/pay/{token}?lang={language}&error=bad_phone", code=303)
    except MalipoError:
        abort(503)
    new_token = token_for(current().settings.secret_key, pushed.id)
    return redirect(f"/pay/{new_token}/result?lang={language}", code=303)


def _html(template: str, language: str, **context) -> Response:
    words = table(language)
    other = "sw" if language == "en" else "en"
    body = render_template(
        template,
        t=words,
        lang=language,
        other_lang=other,
        error=words.get(request.args.get("error") or "", ""),
        **context,
    )
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = card_policy()
    response.headers["Cache-Control"] = "no-store"
    return response


def card_policy() -> str:
    """Scripts from here and from Stripe.js's origin only: no inline script at all (the
    payment page's, and the portal's page that saves a card)."""
    stripe_origins = ""
    gateways = current().gateways
    if CARD in gateways.enabled:
        config = gateways.adapter(CARD).config
        origins = {_origin(config.js_url), _origin(config.api_base or "https://api.stripe.com")}
        stripe_origins = " " + " ".join(sorted(o for o in origins if o))
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self'{stripe_origins}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{stripe_origins}",
            f"frame-src{stripe_origins or ' ' + chr(39) + 'none' + chr(39)}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
