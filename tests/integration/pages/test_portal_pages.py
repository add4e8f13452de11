"""The portal: one-time links, a session that is the tenant's alone, CSRF, the API's rules."""

from __future__ import annotations

import pytest

from billing.auth.models import Role
from tests.integration.pages.conftest import csrf_of

pytestmark = pytest.mark.integration


def test_a_link_opens_once_and_the_cookie_is_httponly_lax(app, tenant, portal_link) -> None:
    client = app.test_client()
    link = portal_link(tenant.tenant_id)
    opened = client.get(link)
    assert opened.status_code == 302
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/portal/").status_code == 200
    assert app.test_client().get(link).status_code == 404  # used: never again


def test_secure_cookie_over_tls(app, tenant, portal_link) -> None:
    opened = app.test_client().get(portal_link(tenant.tenant_id), base_url="https://localhost")
    assert "Secure" in opened.headers["Set-Cookie"]


def test_no_session_no_page(app) -> None:
    assert app.test_client().get("/portal/").status_code == 401


def test_another_tenants_ids_answer_404(app, make_tenant, portal_link, client) -> None:
    mine, theirs = make_tenant(), make_tenant()
    made = client.post(
        "/v1/topups",
        headers=theirs.headers,
        json={"amount": 100000, "currency": "TZS", "msisdn": "255754000111"},
    )
    assert made.status_code == 202
    browser = app.test_client()
    browser.get(portal_link(mine.tenant_id))
    refused = browser.get(f"/portal/topups/{made.json['id']}")
    assert refused.status_code == 404
    assert made.json["id"] not in refused.get_data(as_text=True) or "not found" in refused.get_data(
        as_text=True
    )
    assert browser.get(f"/portal/topups/{made.json['id']}").status_code == 404


def test_csrf_is_refused_and_a_top_up_is_made_with_it(app, tenant, portal_link) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id))
    form = {"amount": "5000", "msisdn": "255754000111", "provider": ""}
    assert browser.post("/portal/topup", data=form).status_code == 400
    assert browser.post("/portal/topup", data={**form, "csrf_token": "forged"}).status_code == 400
    token = csrf_of(browser.get("/portal/topup"))
    made = browser.post("/portal/topup", data={**form, "csrf_token": token})
    assert made.status_code == 303 and "/portal/topups/top_" in made.headers["Location"]


def test_bad_amount_names_the_field(app, tenant, portal_link) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id))
    token = csrf_of(browser.get("/portal/topup"))
    page = browser.post(
        "/portal/topup", data={"amount": "12.345", "msisdn": "255754000111", "csrf_token": token}
    )
    assert page.status_code == 422
    assert 'id="e-amount"' in page.get_data(as_text=True)


def test_a_tenant_user_cannot_manage_keys(app, tenant, portal_link) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id, Role.TENANT_USER))
    assert browser.get("/portal/api-keys").status_code == 403


def test_key_created_once_and_revoked(app, tenant, portal_link, client) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id))
    token = csrf_of(browser.get("/portal/api-keys"))
    page = browser.post(
        "/portal/api-keys", data={"label": "ci", "role": "tenant_user", "csrf_token": token}
    )
    text = page.get_data(as_text=True)
    key = text.split('data-testid="new-key">')[1].split("<")[0]
    assert client.get("/v1/wallet", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in browser.get("/portal/api-keys").get_data(as_text=True)  # shown once


def test_portal_sessions_api(app, client, admin, tenant) -> None:
    made = client.post(
        "/v1/portal-sessions",
        headers=admin.headers,
        json={
            "tenant_id": tenant.tenant_id,
            "user_email": "a@b.co.tz",
            "role": "tenant_user",
            "return_url": "https://platform.example/account",
        },
    )
    assert made.status_code == 201, made.json
    assert "/portal/start/" in made.json["url"] and made.json["expires_at"]
    assert (
        client.post(
            "/v1/portal-sessions",
            headers=tenant.headers,
            json={"tenant_id": tenant.tenant_id, "user_email": "a@b.co.tz", "role": "tenant_user"},
        ).status_code
        == 403
    )
    bad = client.post(
        "/v1/portal-sessions",
        headers=admin.headers,
        json={"tenant_id": tenant.tenant_id, "user_email": "a@b.co.tz", "role": "admin"},
    )
    assert bad.status_code == 422 and "role" in bad.json["errors"]


def test_swahili(app, tenant, portal_link) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id))
    token = csrf_of(browser.get("/portal/"))
    browser.post("/portal/language", data={"lang": "sw", "csrf_token": token, "next": "/portal/"})
    page = browser.get("/portal/").get_data(as_text=True)
    assert 'lang="sw"' in page and "Salio" in page
