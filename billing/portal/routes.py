"""The portal's pages, assembled: importing each page module adds its routes."""

from __future__ import annotations

from flask import Blueprint

from billing.auth.models import Role
from billing.portal import (
    account_pages,
    card_pages,
    dispute_pages,
    record_pages,
    topup_pages,
    views,
)
from billing.portal.blueprint import NAV, bp
from billing.tenants.service import get_tenant
from billing.web.session import request_session, request_state

PAGE_MODULES = (views, topup_pages, record_pages, account_pages, dispute_pages, card_pages)


@bp.context_processor
def _layout() -> dict:
    def portal_nav() -> list[tuple[str, object]]:
        who = request_state().get("principal")
        role = who.role if who else Role.TENANT_USER
        return [
            (endpoint, label) for endpoint, label, roles in NAV if roles is None or role in roles
        ]

    def g_tenant_name() -> str:
        who = request_state().get("principal")
        return get_tenant(request_session(), who.tenant_id).name if who else ""

    return {"portal_nav": portal_nav, "g_tenant_name": g_tenant_name}


def blueprint() -> Blueprint:
    return bp
