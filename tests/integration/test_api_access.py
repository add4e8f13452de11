"""Who may call what: keys, roles, and tenants kept apart on every endpoint."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from billing.auth import principal as principals
from tests.factories import charge, top_up

pytestmark = pytest.mark.integration


def test_no_key_a_malformed_key_and_a_wrong_secret_are_401(client, tenant):
    wrong_secret = tenant.token[:-4] + ("AAAA" if not tenant.token.endswith("AAAA") else "BBBB")
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {wrong_secret}"},
        {"Authorization": f"Basic {tenant.token}"},
    ):
        response = client.get("/v1/wallet", headers=headers)
        assert response.status_code == 401, headers
        assert response.mimetype == "application/problem+json"


def test_a_revoked_key_stops_working_at_once(client, tenant):
    issued = client.post(
        f"/v1/tenants/{tenant.tenant_id}/api-keys",
        json={"role": "tenant_user", "label": "reporting"},
        headers=tenant.headers,
    )
    assert issued.status_code == 201
    key = issued.get_json()
    user = {"Authorization": f"Bearer {key['api_key']}"}
    assert client.get("/v1/wallet", headers=user).status_code == 200
    revoked = client.post(f"/v1/api-keys/{key['id']}/revoke", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/v1/wallet", headers=user).status_code == 401


def test_a_key_revoked_by_another_process_stops_working_within_the_ttl(
    client, tenant, sessions, monkeypatch
):
    # Each process remembers a verified key for KEY_TTL_S (billing.auth.principal): a
    # revocation written elsewhere (another server process, a migration) reaches this one
    # when the remembered key lapses, here after 0.3 s.
    monkeypatch.setattr(principals, "KEY_TTL_S", 0.3)
    issued = client.post(
        f"/v1/tenants/{tenant.tenant_id}/api-keys",
        json={"role": "tenant_user"},
        headers=tenant.headers,
    ).get_json()
    user = {"Authorization": f"Bearer {issued['api_key']}"}
    assert client.get("/v1/wallet", headers=user).status_code == 200
    with sessions.begin() as session:  # not through revoke_key: as another process would
        session.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": issued["id"]}
        )
    assert client.get("/v1/wallet", headers=user).status_code == 200  # still remembered
    time.sleep(0.35)
    assert client.get("/v1/wallet", headers=user).status_code == 401


def test_a_tenant_user_cannot_issue_keys(client, tenant):
    user_key = client.post(
        f"/v1/tenants/{tenant.tenant_id}/api-keys",
        json={"role": "tenant_user"},
        headers=tenant.headers,
    ).get_json()["api_key"]
    response = client.post(
        f"/v1/tenants/{tenant.tenant_id}/api-keys",
        json={"role": "tenant_admin"},
        headers={"Authorization": f"Bearer {user_key}"},
    )
    assert response.status_code == 403


def test_a_tenant_key_cannot_be_given_a_staff_role(client, tenant):
    response = client.post(
        f"/v1/tenants/{tenant.tenant_id}/api-keys", json={"role": "admin"}, headers=tenant.headers
    )
    assert response.status_code == 422 and "role" in response.get_json()["errors"]


def _foreign_requests(owner, other_key_id):
    """Every endpoint that names an object, aimed at the owner's objects."""
    return [
        ("get", f"/v1/tenants/{owner.tenant_id}", None),
        ("get", f"/v1/wallet?tenant_id={owner.tenant_id}", None),
        ("get", f"/v1/wallet/entries?tenant_id={owner.tenant_id}", None),
        ("post", f"/v1/tenants/{owner.tenant_id}/api-keys", {"role": "tenant_user"}),
        ("post", f"/v1/api-keys/{other_key_id}/revoke", None),
    ]


def test_another_tenants_objects_answer_404_on_every_endpoint(client, make_tenant, sessions):
    owner, intruder = make_tenant(), make_tenant()
    with sessions.begin() as session:
        top_up(session, owner.tenant_id, 9_000)
    owner_key = client.post(
        f"/v1/tenants/{owner.tenant_id}/api-keys",
        json={"role": "tenant_user"},
        headers=owner.headers,
    ).get_json()
    for method, path, body in _foreign_requests(owner, owner_key["id"]):
        response = getattr(client, method)(path, json=body, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.get_json())
    # and nothing of the owner's leaked or changed
    assert client.get("/v1/wallet", headers=owner.headers).get_json()["balance"] == 9_000
    user = {"Authorization": f"Bearer {owner_key['api_key']}"}
    assert client.get("/v1/wallet", headers=user).status_code == 200


def test_staff_see_any_tenant_but_must_name_it(client, finance, tenant, sessions):
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 4_000)
        charge(session, tenant.tenant_id, 1_500)
    named = client.get(f"/v1/wallet?tenant_id={tenant.tenant_id}", headers=finance.headers)
    assert named.status_code == 200 and named.get_json()["balance"] == 2_500
    unnamed = client.get("/v1/wallet", headers=finance.headers)
    assert unnamed.status_code == 403 and "tenant_id" in unnamed.get_json()["errors"]
    unknown = client.get("/v1/wallet?tenant_id=ten_nope", headers=finance.headers)
    assert unknown.status_code == 404
