"""/v1/tenants over HTTP: validation, roles, Idempotency-Key, problem+json."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.integration

NEW_TENANT = {
    "name": "Kilimo SMS Ltd",
    "email": "accounts@kilimo.co.tz",
    "msisdn": "+255 754 123 456",
    "tin": "100-200-300",
    "vrn": "40-012345-K",
    "billing_mode": "postpaid",
    "currency": "USD",
}


def test_an_admin_creates_a_tenant_with_a_first_key_shown_once(client, admin):
    response = client.post("/v1/tenants", json=NEW_TENANT, headers=admin.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("ten_")
    assert body["msisdn"] == "255754123456"
    assert (body["tin"], body["vrn"]) == ("100-200-300", "40-012345-K")
    assert (body["billing_mode"], body["currency"], body["status"]) == ("postpaid", "USD", "active")
    assert body["api_key"].startswith("mlp_")

    own = {"Authorization": f"Bearer {body['api_key']}"}
    fetched = client.get(f"/v1/tenants/{body['id']}", headers=own).get_json()
    assert "api_key" not in fetched and fetched["name"] == NEW_TENANT["name"]
    wallet = client.get("/v1/wallet", headers=own).get_json()
    assert wallet == {
        "tenant_id": body["id"],
        "currency": "USD",
        "balance": 0,
        "reserved": 0,
        "available": 0,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("msisdn", "12345", "not a valid phone number"),
        ("msisdn", "0222 123 456", "not a mobile number"),
        ("tin", "12345678", "a TIN is 9 digits, e.g. 123-456-789"),
        ("vrn", "40-01234-K", "a VRN is 8 digits and a letter, e.g. 40-012345-K"),
        ("currency", "KES", "Must be one of: TZS, USD."),
        ("billing_mode", "monthly", "Must be one of: prepaid, postpaid."),
        ("email", "not-an-email", "Not a valid email address."),
        ("name", "", "must not be blank"),
        ("name", "Duka\u202eLTD", "must not contain the bidirectional control U+202E"),
        ("name", "Duka\x07", "must not contain the control character U+0007"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(client, admin, field, value, message):
    response = client.post("/v1/tenants", json={**NEW_TENANT, field: value}, headers=admin.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["errors"] == {field: [message]}
    assert problem["status"] == 422 and problem["type"] == "/problems/invalid-input"


def test_unknown_fields_such_as_balance_cannot_be_mass_assigned(client, admin):
    response = client.post(
        "/v1/tenants",
        json={**NEW_TENANT, "status": "active", "balance": 10**9},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"status", "balance"}


def test_a_body_that_is_not_json_is_a_problem_not_a_crash(client, admin):
    response = client.post(
        "/v1/tenants", data="{not json", content_type="application/json", headers=admin.headers
    )
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("caller", ["finance", "tenant"])
def test_only_an_admin_creates_tenants(client, request, caller):
    who = request.getfixturevalue(caller)
    response = client.post("/v1/tenants", json=NEW_TENANT, headers=who.headers)
    assert response.status_code == 403
    assert response.get_json()["type"] == "/problems/forbidden"


def test_a_retry_with_the_same_idempotency_key_replays_the_first_response(client, admin):
    headers = {**admin.headers, "Idempotency-Key": "create-kilimo-1"}
    first = client.post("/v1/tenants", json=NEW_TENANT, headers=headers)
    second = client.post("/v1/tenants", json=NEW_TENANT, headers=headers)
    assert first.status_code == second.status_code == 201
    replayed = second.get_json()
    assert replayed.pop("api_key") is None and replayed.pop("api_key_shown_once") is True
    original = first.get_json()
    assert original.pop("api_key").startswith("mlp_") and replayed == original
    assert second.headers["Idempotent-Replayed"] == "true"


def test_the_same_idempotency_key_with_another_body_is_422(client, admin):
    headers = {**admin.headers, "Idempotency-Key": "create-kilimo-2"}
    assert client.post("/v1/tenants", json=NEW_TENANT, headers=headers).status_code == 201
    other = client.post("/v1/tenants", json={**NEW_TENANT, "name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["errors"] == {
        "Idempotency-Key": ["already used with a different request"]
    }


def test_a_failed_request_does_not_burn_its_idempotency_key(client, admin):
    headers = {**admin.headers, "Idempotency-Key": "create-kilimo-3"}
    bad = client.post("/v1/tenants", json={**NEW_TENANT, "tin": "1"}, headers=headers)
    assert bad.status_code == 422
    assert client.post("/v1/tenants", json=NEW_TENANT, headers=headers).status_code == 201


def test_concurrent_requests_with_one_key_create_one_tenant(app, admin):
    barrier = threading.Barrier(8)
    headers = {**admin.headers, "Idempotency-Key": "create-kilimo-race"}

    def create(_index: int):
        client = app.test_client()
        barrier.wait()
        response = client.post("/v1/tenants", json=NEW_TENANT, headers=headers)
        return response.status_code, response.get_json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    assert {status for status, _ in results} == {201}
    assert len({tenant_id for _, tenant_id in results}) == 1


def test_a_tenant_has_a_postal_address_and_a_language(client, admin):
    body = {**NEW_TENANT, "street": " Plot 5,  Mikocheni ", "po_box": "S.L.P. 1234",
            "city": "Dar es Salaam", "country": "tz", "language": "sw"}  # fmt: skip
    made = client.post("/v1/tenants", json=body, headers=admin.headers).get_json()
    assert (made["street"], made["po_box"], made["city"], made["country"], made["language"]) == (
        "Plot 5, Mikocheni", "1234", "Dar es Salaam", "TZ", "sw",
    )  # fmt: skip
    assert made["address"] == "Plot 5, Mikocheni, P.O. Box 1234, Dar es Salaam, Tanzania"
    plain = client.post("/v1/tenants", json=NEW_TENANT, headers=admin.headers).get_json()
    assert (plain["language"], plain["country"], plain["address"]) == ("en", "TZ", "")


def test_the_admin_or_the_tenants_admin_patches_address_and_language(client, admin, tenant):
    path = f"/v1/tenants/{tenant.tenant_id}"
    changed = client.patch(path, json={"city": "Arusha", "po_box": "77"}, headers=admin.headers)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["address"] == "P.O. Box 77, Arusha, Tanzania"
    own = client.patch(path, json={"language": "sw", "po_box": None}, headers=tenant.headers)
    assert own.get_json()["language"] == "sw" and own.get_json()["address"] == "Arusha, Tanzania"
    other = client.post("/v1/tenants", json=NEW_TENANT, headers=admin.headers).get_json()
    stranger = {"Authorization": f"Bearer {other['api_key']}"}
    assert client.patch(path, json={"city": "Moshi"}, headers=stranger).status_code == 404
    query = {"tenant_id": tenant.tenant_id, "action": "tenant.updated"}
    events = client.get("/v1/audit-events", query_string=query, headers=admin.headers)
    events = events.get_json()["items"]
    assert [e["detail"]["after"] for e in events] == [
        {"language": "sw", "po_box": None}, {"city": "Arusha", "po_box": "77"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"country": "Tanzania"}, "country"),
        ({"po_box": "Box twelve"}, "po_box"),
        ({"city": "   "}, "city"),
        ({"street": "x" * 201}, "street"),
        ({"name": "   "}, "name"),  # correctable (rectification), never blank
        ({"msisdn": "12345"}, "msisdn"),
        ({"tin": "12-34"}, "tin"),
        ({"status": "closed"}, "status"),  # not the tenant's to change
        ({}, "_schema"),
    ],
)
def test_bad_updates_are_422s_naming_the_field(client, admin, tenant, body, field):
    response = client.patch(f"/v1/tenants/{tenant.tenant_id}", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_bad_address_on_create_names_the_field(client, admin):
    body = {**NEW_TENANT, "language": "SW", "country": "T1"}
    errors = client.post("/v1/tenants", json=body, headers=admin.headers).get_json()["errors"]
    assert {"language", "country"} <= set(errors)
