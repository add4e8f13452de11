"""Portal links and browser sessions against PostgreSQL: once, in time, for an active
tenant; two browsers racing for one link get one session; an idle session ends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from billing.auth.models import Role
from billing.core.clock import utcnow
from billing.core.errors import NotFound
from billing.pages.models import WebSession
from billing.portal import links
from billing.tenants.models import Tenant, TenantStatus

pytestmark = pytest.mark.integration


def _link(runtime, tenant_id: str, now=None) -> str:
    with runtime.unit_of_work() as session:
        _row, token = links.create_link(
            session, actor="t", tenant_id=tenant_id, user_email="a@b.tz",
            role=Role.TENANT_USER, return_url=None, now=now,
        )  # fmt: skip
    return token


def test_an_expired_link_opens_nothing(runtime, tenant) -> None:
    token = _link(runtime, tenant.tenant_id, now=utcnow() - links.VALID_FOR - timedelta(seconds=1))
    with runtime.unit_of_work() as session, pytest.raises(NotFound):
        links.redeem(session, token)


def test_a_suspended_tenant_gets_no_link_and_opens_none(runtime, tenant) -> None:
    token = _link(runtime, tenant.tenant_id)
    with runtime.unit_of_work() as session:
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.tenant_id)
            .values(status=TenantStatus.SUSPENDED)
        )
    with runtime.unit_of_work() as session, pytest.raises(NotFound):
        links.redeem(session, token)
    with runtime.unit_of_work() as session, pytest.raises(Exception, match="suspended"):
        links.create_link(session, actor="t", tenant_id=tenant.tenant_id, user_email="a@b.tz",
                          role=Role.TENANT_USER, return_url=None)  # fmt: skip


def test_two_browsers_racing_for_one_link_get_one_session(runtime, tenant) -> None:
    token = _link(runtime, tenant.tenant_id)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def open_it() -> None:
        start.wait()
        try:
            with runtime.unit_of_work() as session:
                links.redeem(session, token)
            outcomes.append("opened")
        except NotFound:
            outcomes.append("refused")

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["opened", "refused", "refused", "refused"]


def test_an_idle_session_ends(app, runtime, tenant) -> None:
    browser = app.test_client()
    assert browser.get(f"/portal/start/{_link(runtime, tenant.tenant_id)}").status_code == 302
    assert browser.get("/portal/").status_code == 200
    with runtime.unit_of_work() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.tenant_id == tenant.tenant_id)
            .values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    assert browser.get("/portal/").status_code == 401


def test_signing_out_ends_the_session_server_side(app, runtime, tenant) -> None:
    from tests.integration.pages.conftest import csrf_of

    browser = app.test_client()
    browser.get(f"/portal/start/{_link(runtime, tenant.tenant_id)}")
    kept_cookie = browser.get_cookie("malipo_pages")
    token = csrf_of(browser.get("/portal/"))
    assert browser.post("/portal/sign-out", data={"csrf_token": token}).status_code == 200
    replay = app.test_client()  # the cookie as it was before signing out, replayed
    replay.set_cookie("malipo_pages", kept_cookie.value)
    assert replay.get("/portal/").status_code == 401


def test_a_tenant_suspended_mid_session_is_out_at_its_next_page(app, runtime, tenant) -> None:
    browser = app.test_client()
    browser.get(f"/portal/start/{_link(runtime, tenant.tenant_id)}")
    assert browser.get("/portal/").status_code == 200
    with runtime.unit_of_work() as session:
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.tenant_id)
            .values(status=TenantStatus.SUSPENDED)
        )
    assert browser.get("/portal/").status_code == 401
