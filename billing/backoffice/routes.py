"""The back office's pages, assembled: importing each page module adds its routes."""

from __future__ import annotations

from flask import Blueprint

from billing.backoffice import admin, finance, review_pages, signin
from billing.backoffice.blueprint import NAV, bp
from billing.web.session import request_state

PAGE_MODULES = (signin, review_pages, finance, admin)


@bp.context_processor
def _layout() -> dict:
    def office_nav() -> list[tuple[str, object]]:
        who = request_state().get("principal")
        if who is None:
            return []
        return [(endpoint, label) for endpoint, label, roles in NAV if who.role in roles]

    def staff_email() -> str:
        row = request_state().get("web_session")
        return row.user_email if row else ""

    return {"office_nav": office_nav, "staff_email": staff_email}


def blueprint() -> Blueprint:
    return bp
