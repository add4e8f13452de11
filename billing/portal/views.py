"""The portal's way in (the one-time link), its overview, language and sign-out."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext as _

from billing.auth.access import TENANT, principal, requires
from billing.core.clock import utcnow
from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.pages import browser_sessions, charts
from billing.pages.guard import web_session
from billing.pages.i18n import LANGUAGES
from billing.portal import links, spend
from billing.portal.blueprint import bp
from billing.tenants.service import get_tenant
from billing.web.session import request_session

LOW_BALANCE_DAYS = 7  # warn when the balance lasts less than a week at this month's pace


@bp.get("/start/<token>")
def start(token: str):
    """Open a portal link: once, within minutes; then the overview."""
    session = request_session()
    link = links.redeem(session, token)
    browser_sessions.open_session(
        session,
        "portal",
        role=link.role,
        tenant_id=link.tenant_id,
        user_email=link.user_email,
        return_url=link.return_url,
    )
    if "lang" not in cookie:
        cookie["lang"] = get_tenant(session, link.tenant_id).language.value
    return redirect(url_for("portal.overview"))


@bp.get("/")
@requires(*TENANT)
def overview():
    session = request_session()
    tenant = get_tenant(session, principal().tenant_id)
    balance = account_balance(session, tenant.id, WALLET, tenant.currency)
    month = spend.this_month(session, tenant.id, utcnow())
    low = balance.balance_minor <= 0 or (
        month.daily_average_minor > 0
        and balance.balance_minor < LOW_BALANCE_DAYS * month.daily_average_minor
    )
    chart = charts.spend_by_day(
        month.by_day,
        month.days,
        _("Spend by day this month"),
        _("Stacked bars, one a day, coloured by service; the table below has the figures."),
    )
    return render_template(
        "portal/overview.html",
        tenant=tenant,
        balance=balance,
        month=month,
        low=low,
        chart=chart,
        colours=charts.colour_of,
    )


@bp.post("/language")
def choose_language():
    """Switch between English and Swahili; back to the page it was chosen on."""
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        cookie["lang"] = chosen
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/portal") else url_for("portal.overview"))


@bp.post("/sign-out")
def sign_out():
    row = web_session()
    browser_sessions.close(request_session(), row)
    return render_template("portal/signed_out.html", return_url=row.return_url)
