"""No secret is stored in clear: a created API key lives only as its SHA-256, and an
idempotent replay of its creation says it was shown once instead of showing it again."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.auth import keys

pytestmark = pytest.mark.integration

NEW_TENANT = {
    "name": "Pwani Voice Ltd",
    "email": "billing@pwani.co.tz",
    "msisdn": "+255 754 000 111",
    "billing_mode": "prepaid",
    "currency": "TZS",
}


def _tables_holding(session, needle: str) -> list[str]:
    """Every table of the schema whose rows, read as text, contain `needle`."""
    tables = session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    return [
        table
        for table in tables
        if session.execute(
            text(f'SELECT count(*) FROM "{table}" AS t WHERE t::text LIKE :needle'),
            {"needle": f"%{needle}%"},
        ).scalar()
    ]


def _secret(token: str) -> str:
    material = keys.parse(token)
    assert material is not None
    return material.secret


def test_creating_a_tenant_stores_its_key_nowhere_and_a_replay_says_it_was_shown_once(
    client, admin, session
):
    headers = {**admin.headers, "Idempotency-Key": "pwani-create-1"}
    first = client.post("/v1/tenants", json=NEW_TENANT, headers=headers)
    assert first.status_code == 201
    token = first.get_json()["api_key"]

    stored = session.execute(
        text("SELECT t::text FROM idempotency_records AS t WHERE key = 'pwani-create-1'")
    ).scalar_one()
    assert _secret(token) not in stored
    assert _tables_holding(session, _secret(token)) == []

    replay = client.post("/v1/tenants", json=NEW_TENANT, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    body = replay.get_json()
    assert body["api_key"] is None and body["api_key_shown_once"] is True
    assert body["id"] == first.get_json()["id"]
    # the key shown the first time works; the replay did not issue another
    own = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/v1/tenants/{body['id']}", headers=own).status_code == 200


def test_issuing_a_key_stores_its_token_nowhere_and_a_replay_says_it_was_shown_once(
    client, tenant, session
):
    headers = {**tenant.headers, "Idempotency-Key": "reporting-key-1"}
    path = f"/v1/tenants/{tenant.tenant_id}/api-keys"
    first = client.post(path, json={"role": "tenant_user"}, headers=headers)
    assert first.status_code == 201
    token = first.get_json()["api_key"]
    assert _tables_holding(session, _secret(token)) == []

    replay = client.post(path, json={"role": "tenant_user"}, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    body = replay.get_json()
    assert body["api_key"] is None and body["api_key_shown_once"] is True
    assert body["id"] == first.get_json()["id"] and body["prefix"] == first.get_json()["prefix"]


def test_the_first_response_does_not_carry_the_shown_once_flag(client, admin):
    body = client.post("/v1/tenants", json=NEW_TENANT, headers=admin.headers).get_json()
    assert body["api_key"].startswith("mlp_") and "api_key_shown_once" not in body
