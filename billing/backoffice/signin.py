"""Sign-in (e-mail and password, then a TOTP or recovery code), re-authentication before
money moves, and sign-out. Attempts and lockout counters commit in their own
transaction, so a refused attempt still counts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask import session as cookie

from billing.audit.service import record
from billing.auth.access import principal, requires
from billing.auth.models import StaffUser
from billing.backoffice import credentials
from billing.backoffice.blueprint import STAFF, bp
from billing.core.clock import utcnow
from billing.core.errors import MalipoError
from billing.pages import browser_sessions
from billing.pages.guard import web_session
from billing.runtime import current
from billing.web.client_address import client_address, networks
from billing.web.session import request_session

PENDING = "staff_pending"  # the user who gave a right password, until the second factor
PENDING_FOR_S = 300


def _address() -> str:
    settings = current().settings
    forwarded = ",".join(request.headers.getlist("X-Forwarded-For")) or None
    return client_address(request.remote_addr, forwarded, networks(settings.trusted_proxies)) or "?"


def _safe_next(value: str | None) -> str:
    return (
        value
        if value and value.startswith("/office") and not value.startswith("//")
        else url_for("office.home")
    )


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    error = None
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        with current().unit_of_work() as session:
            try:
                credentials.check_address(session, _address())
                user = credentials.check_password(session, email, request.form.get("password", ""))
            except MalipoError as refused:
                credentials.note_attempt(session, email, _address(), False)
                error, status = refused.detail, refused.status
            else:
                cookie[PENDING] = {"user": user.id, "at": utcnow().timestamp()}
        if error is None:
            return redirect(
                url_for("office.second_factor", next=request.args.get("next", "")), code=303
            )
    return render_template("office/sign_in.html", error=error), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
def second_factor():
    pending = cookie.get(PENDING) or {}
    if not pending or utcnow().timestamp() - pending.get("at", 0) > PENDING_FOR_S:
        cookie.pop(PENDING, None)
        return redirect(url_for("office.sign_in"))
    error, status = None, 200
    if request.method == "POST":
        with current().unit_of_work() as session:
            user = session.get(StaffUser, pending["user"])
            try:
                credentials.check_address(session, _address())
                used = credentials.check_second_factor(
                    session, pending["user"], request.form.get("code", "")
                )
            except MalipoError as refused:
                credentials.note_attempt(session, user.email, _address(), False)
                error, status = refused.detail, refused.status
            else:
                credentials.note_attempt(session, user.email, _address(), True)
                row = browser_sessions.open_session(
                    session, "staff", role=user.role, staff_user_id=user.id, user_email=user.email
                )
                record(
                    session,
                    actor=user.id,
                    action="staff.signed_in",
                    subject_type="staff_user",
                    subject_id=user.id,
                    detail={"second_factor": used, "session": row.id},
                )
        if error is None:
            cookie.pop(PENDING, None)
            return redirect(_safe_next(request.args.get("next")), code=303)
    return render_template("office/second_factor.html", error=error), status


@bp.route("/reauth", methods=["GET", "POST"])
@requires(*STAFF)
def reauth():
    """Password and a code again, before a money-moving action."""
    error, status = None, 200
    if request.method == "POST":
        row = web_session()
        with current().unit_of_work() as session:
            try:
                user = credentials.check_password(
                    session, row.user_email, request.form.get("password", "")
                )
                credentials.check_second_factor(session, user.id, request.form.get("code", ""))
            except MalipoError as refused:
                credentials.note_attempt(session, row.user_email, _address(), False)
                error, status = refused.detail, refused.status
        if error is None:
            row.reauth_at = utcnow()
            return redirect(_safe_next(request.args.get("next")), code=303)
    return render_template("office/reauth.html", error=error), status


def needs_recent_reauth(view: Callable[..., Any]) -> Callable[..., Any]:
    """A money-moving POST: refused (sent to re-authenticate) unless the password and a
    code were given within the last few minutes."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not browser_sessions.recently_reauthenticated(web_session()):
            return redirect(url_for("office.reauth", next=_referrer()), code=303)
        return view(*args, **kwargs)

    return checked


def _referrer() -> str:
    parts = urlsplit(request.referrer or "")
    return parts.path if parts.path.startswith("/office") else request.path


@bp.post("/sign-out")
def sign_out():
    row = web_session()
    browser_sessions.close(request_session(), row)
    record(
        request_session(),
        actor=principal().actor,
        action="staff.signed_out",
        subject_type="staff_user",
        subject_id=row.staff_user_id or "",
    )
    return redirect(url_for("office.sign_in"), code=303)
