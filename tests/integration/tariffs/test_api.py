"""The tariff API: rate plans and versions, assignment, authorisation; roles and errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from billing.tenants.models import BillingMode
from tests.factories import on_default_plan, top_up

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
VODACOM = "0754 000 111"


def plan_body(code: str, sms_price: str = "22", **extra) -> dict:
    return {
        "code": code,
        "name": "Test plan",
        "currency": "TZS",
        "valid_from": "2020-01-01T00:00:00+03:00",
        "time_bands": {
            "bands": [{"name": "weekend", "days": [5, 6], "start": "00:00", "end": "00:00"}],
            "default": "weekday",
        },
        "duration_rates": [
            {
                "service": "voice",
                "zone": "*",
                "rate": "60",
                "initial_increment_s": 60,
                "next_increment_s": 1,
            },
            {
                "service": "voice",
                "zone": "TZ-PREMIUM",
                "connect_fee": "100",
                "groups": [{"start_s": 0, "rate": "600", "increment_s": 60}],
            },
        ],
        "unit_rates": [{"service": "sms", "zone": "*", "price": sms_price}],
        "whatsapp_rates": [{"category": "marketing", "market": "*", "price": "50"}],
        "bundles": [{"name": "sms-10", "service": "sms", "units": 10}],
        **extra,
    }


FREE = 10  # plan_body's sms-10 bundle: authorisation counts it before the wallet


def new_code() -> str:
    return f"API-{uuid.uuid4().hex[:10]}"


def create_plan(client, admin, body) -> dict:
    response = client.post("/v1/rate-plans", json=body, headers=admin.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assign(client, admin, tenant_id, plan_id, **extra):
    body = {"plan_id": plan_id, "valid_from": "2020-01-01T00:00:00Z", **extra}
    return client.post(f"/v1/tenants/{tenant_id}/rate-plan", json=body, headers=admin.headers)


def test_a_plan_is_created_read_and_versioned_on_change(client, admin):
    code = new_code()
    first = create_plan(client, admin, plan_body(code))
    assert (first["version"], first["latest_version"], first["code"]) == (1, 1, code)
    assert first["duration_rates"][1]["groups"][0] == {
        "start_s": 0,
        "rate": "600",
        "increment_s": 60,
    }
    assert first["time_bands"]["bands"][0]["start"] == "00:00"
    assert first["bundles"][0]["units"] == 10
    again = client.post("/v1/rate-plans", json=plan_body(code), headers=admin.headers)
    assert again.status_code == 200 and again.get_json()["version"] == 1
    second = create_plan(client, admin, plan_body(code, sms_price="25"))
    assert second["id"] == first["id"] and second["version"] == 2
    got = client.get(f"/v1/rate-plans/{first['id']}", headers=admin.headers).get_json()
    assert got["version"] == 2 and got["unit_rates"][0]["price"] == "25"
    assert [v["version"] for v in got["versions"]] == [1, 2]
    old = client.get(f"/v1/rate-plans/{first['id']}?version=1", headers=admin.headers)
    assert old.get_json()["unit_rates"][0]["price"] == "22"
    missing = client.get(f"/v1/rate-plans/{first['id']}?version=9", headers=admin.headers)
    assert missing.status_code == 404 and missing.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "EUR"}, "currency"),
        ({"code": "has space"}, "code"),
        ({"rounding": "sideways"}, "rounding"),
        ({"decimals": 3}, "decimals"),
        ({"unit_rates": [{"service": "sms", "price": "-1"}]}, "unit_rates.0.price"),
        ({"unit_rates": [{"service": "voice", "price": "1"}]}, "unit_rates.0.service"),
        ({"duration_rates": [{"service": "voice", "zone": "*"}]}, "duration_rates.0.rate"),
        (
            {
                "duration_rates": [
                    {
                        "service": "voice",
                        "zone": "*",
                        "groups": [
                            {"start_s": 0, "rate": "1", "increment_s": 60},
                            {"start_s": 90, "rate": "1", "increment_s": 1},
                        ],
                    }
                ]
            },
            "duration_rates.0",
        ),
        (
            {"duration_rates": [{"service": "voice", "zone": "*", "rate": "nan"}]},
            "duration_rates.0.rate",
        ),
        (
            {
                "time_bands": {
                    "bands": [{"name": "x", "days": [7], "start": "07:00", "end": "19:00"}]
                }
            },
            "time_bands.bands.0.days.0",
        ),
        ({"time_bands": {"tz": "Mars/Olympus"}}, "time_bands"),
        ({"bundles": [{"name": "b", "service": "sms", "units": 0}]}, "bundles.0.units"),
        ({"valid_to": "2019-01-01T00:00:00Z"}, "valid_to"),
        (
            {"unit_rates": [{"service": "sms", "price": "1"}, {"service": "sms", "price": "2"}]},
            "unit_rates.1",
        ),
    ],
)
def test_every_bad_field_is_a_problem_naming_it(client, admin, change, field):
    response = client.post(
        "/v1/rate-plans", json=plan_body(new_code()) | change, headers=admin.headers
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()


def test_only_admins_write_plans_and_tenants_read_only_their_own(
    client, admin, finance, make_tenant
):
    owner, other = make_tenant(), make_tenant()
    for caller in (finance, owner):
        response = client.post("/v1/rate-plans", json=plan_body(new_code()), headers=caller.headers)
        assert response.status_code == 403 and response.mimetype == PROBLEM
    plan = create_plan(client, admin, plan_body(new_code()))
    path = f"/v1/rate-plans/{plan['id']}"
    assert client.get(path, headers=owner.headers).status_code == 404  # not assigned yet
    assert assign(client, owner, owner.tenant_id, plan["id"]).status_code == 403
    assert assign(client, admin, owner.tenant_id, plan["id"]).status_code == 201
    assert client.get(path, headers=owner.headers).status_code == 200
    assert client.get(path, headers=other.headers).status_code == 404
    assert client.get(path, headers=finance.headers).status_code == 200
    assert client.get("/v1/rate-plans/rpl_nope", headers=admin.headers).status_code == 404
    mine = client.get(f"/v1/tenants/{owner.tenant_id}/rate-plan", headers=owner.headers)
    assert mine.get_json()["current"]["plan_id"] == plan["id"]
    assert mine.get_json()["plan_version"] == 1
    theirs = client.get(f"/v1/tenants/{owner.tenant_id}/rate-plan", headers=other.headers)
    assert theirs.status_code == 404 and theirs.mimetype == PROBLEM


def test_assignment_errors_name_the_field(client, admin, tenant):
    plan = create_plan(client, admin, plan_body(new_code()))
    assert assign(client, admin, tenant.tenant_id, "rpl_nope").status_code == 404
    assert assign(client, admin, "ten_nope", plan["id"]).status_code == 404
    bad = assign(client, admin, tenant.tenant_id, plan["id"], credit_limit=-1)
    assert bad.status_code == 422 and "credit_limit" in bad.get_json()["errors"]
    bad = assign(
        client,
        admin,
        tenant.tenant_id,
        plan["id"],
        overrides={"unit_rates": [{"service": "sms", "price": "x"}]},
    )
    assert bad.status_code == 422 and "overrides.unit_rates.0.price" in bad.get_json()["errors"]
    bad = assign(client, admin, tenant.tenant_id, plan["id"], valid_to="2019-01-01T00:00:00Z")
    assert bad.status_code == 422 and "valid_to" in bad.get_json()["errors"]


def authorize(client, caller, tenant_id, service="voice", destination=VODACOM, **extra):
    """An authorisation as a question (`reserve` false): it holds nothing."""
    body = {"tenant_id": tenant_id, "service": service, "destination": destination,
            "reserve": False, **extra}  # fmt: skip
    return client.post("/v1/authorize", json=body, headers=caller.headers)


def test_authorize_a_prepaid_call_from_the_wallet(client, admin, tenant, sessions):
    plan = create_plan(client, admin, plan_body(new_code()))
    assign(client, admin, tenant.tenant_id, plan["id"])
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 200_00)
    # 60/1 at 60.00 a minute + 18% VAT: 70.80 for the first minute, 1.18 a second after.
    answer = authorize(client, admin, tenant.tenant_id).get_json()
    assert answer["allowed"] is True and answer["available"] == 200_00
    assert answer["max_seconds"] == 60 + (200_00 - 70_80) // 1_18  # 169
    assert answer["destination"] == "255754000111"
    assert answer["rate"]["zone"] == "TZ-MOB-VODACOM" and answer["rate"]["increments"] == "60/1"
    assert answer["rate"]["first_charge"] == 70_80 and answer["rate"]["price"] == "60"
    premium = authorize(client, admin, tenant.tenant_id, destination="0901 234 567").get_json()
    # 100.00 connect fee + 600.00 a minute, + VAT = 826.00 > 200.00
    assert premium["allowed"] is False and premium["reason"] == "insufficient_balance"
    assert premium["max_seconds"] == 0 and premium["rate"]["connect_fee"] == "100"


def test_authorize_messages_counts_the_bundle_and_segments(client, admin, tenant, sessions):
    plan = create_plan(client, admin, plan_body(new_code()))
    assign(client, admin, tenant.tenant_id, plan["id"])
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 100_00)
    sms = authorize(client, admin, tenant.tenant_id, service="sms").get_json()
    # the 10 segments of the sms-10 bundle first, then 22.00 + VAT = 25.96 a segment
    assert (sms["allowed"], sms["max_messages"]) == (True, 10 + 3)
    assert sms["rate"]["per"] == "segment"
    two = authorize(client, admin, tenant.tenant_id, service="sms", segments=2).get_json()
    assert two["max_messages"] == 5 + 1  # five free, then 51.92 of the 100.00
    whatsapp = authorize(client, admin, tenant.tenant_id, service="whatsapp").get_json()
    assert whatsapp["max_messages"] == 1 and whatsapp["rate"]["price"] == "50"  # 59.00 each


def test_authorize_refuses_what_it_cannot_price(client, admin, make_tenant, sessions):
    bare = make_tenant()
    answer = authorize(client, admin, bare.tenant_id).get_json()
    assert answer == answer | {"allowed": False, "reason": "no_rate_plan", "rate": None}
    with sessions.begin() as session:
        on_default_plan(session, bare.tenant_id)
    broke = authorize(client, admin, bare.tenant_id).get_json()
    assert (broke["allowed"], broke["reason"], broke["available"]) == (
        False,
        "insufficient_balance",
        0,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "fax"}, "service"),
        ({"destination": "not a number"}, "destination"),
        ({"destination": "12"}, "destination"),
        ({"segments": 0}, "segments"),
        ({"tenant_id": None}, "tenant_id"),
    ],
)
def test_authorize_bad_fields(client, admin, tenant, body, field):
    payload = {"tenant_id": tenant.tenant_id, "service": "voice", "destination": VODACOM} | body
    response = client.post("/v1/authorize", json=payload, headers=admin.headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.get_json()["errors"]


def test_authorize_is_for_staff_keys_and_known_tenants(client, admin, tenant):
    assert authorize(client, tenant, tenant.tenant_id).status_code == 403
    missing = authorize(client, admin, "ten_nope")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM


def test_postpaid_tenants_are_allowed_up_to_their_credit_limit(client, admin, make_tenant):
    plan = create_plan(client, admin, plan_body(new_code()))
    open_ended = make_tenant(billing_mode=BillingMode.POSTPAID)
    assign(client, admin, open_ended.tenant_id, plan["id"])
    unlimited = authorize(client, admin, open_ended.tenant_id).get_json()
    assert unlimited["allowed"] and unlimited["max_seconds"] == 4 * 3600
    assert unlimited["available"] is None
    limited = make_tenant(billing_mode=BillingMode.POSTPAID)
    assign(client, admin, limited.tenant_id, plan["id"], credit_limit=200_00)
    capped = authorize(client, admin, limited.tenant_id).get_json()
    assert capped["max_seconds"] == 169 and capped["available"] == 200_00


def test_overrides_and_new_versions_reach_authorize_at_once(client, admin, make_tenant, sessions):
    code = new_code()
    plan = create_plan(client, admin, plan_body(code))
    special, regular = make_tenant(), make_tenant()
    cheap_sms = {"unit_rates": [{"service": "sms", "zone": "*", "price": "10"}]}
    assert (
        assign(client, admin, special.tenant_id, plan["id"], overrides=cheap_sms).status_code == 201
    )
    assign(client, admin, regular.tenant_id, plan["id"])
    with sessions.begin() as session:
        top_up(session, special.tenant_id, 100_00)
        top_up(session, regular.tenant_id, 100_00)
    assert (
        authorize(client, admin, special.tenant_id, service="sms").get_json()["max_messages"]
        == FREE + 8
    )  # 11.80 each after the bundle
    assert (
        authorize(client, admin, regular.tenant_id, service="sms").get_json()["max_messages"]
        == FREE + 3
    )
    create_plan(client, admin, plan_body(code, sms_price="5"))  # version 2, in force already
    after = authorize(client, admin, regular.tenant_id, service="sms").get_json()
    assert after["max_messages"] == FREE + 16 and after["rate"]["plan_version"] == 2  # 5.90 each
    # the override still replaces the plan's SMS price in the new version
    assert (
        authorize(client, admin, special.tenant_id, service="sms").get_json()["max_messages"]
        == FREE + 8
    )


def test_a_future_version_waits_for_its_date(client, admin, tenant, sessions):
    code = new_code()
    plan = create_plan(client, admin, plan_body(code))
    assign(client, admin, tenant.tenant_id, plan["id"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    create_plan(client, admin, plan_body(code, sms_price="1", valid_from=tomorrow))
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 100_00)
    answer = authorize(client, admin, tenant.tenant_id, service="sms").get_json()
    assert answer["rate"]["plan_version"] == 1 and answer["max_messages"] == FREE + 3


def test_every_field_of_a_definition_comes_back_as_sent(client, admin):
    body = {
        "code": new_code(),
        "name": "Everything",
        "currency": "USD",
        "rounding": "up",
        "decimals": 0,
        "valid_from": "2030-01-01T00:00:00+00:00",
        "valid_to": "2031-01-01T00:00:00+00:00",
        "time_bands": {
            "bands": [
                {"name": "night", "days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00"}
            ],
            "default": "day",
            "tz": "Africa/Dar_es_Salaam",
            "holidays": ["2030-12-09", "2030-12-25"],
            "holiday_band": "night",
        },
        "duration_rates": [
            {
                "service": "voice",
                "zone": "TZ-MOB-VODACOM",
                "band": "night",
                "rate": None,
                "initial_increment_s": None,
                "next_increment_s": None,
                "groups": [
                    {"start_s": 0, "rate": "0.04", "increment_s": 30},
                    {"start_s": 30, "rate": "0.02", "increment_s": 6},
                ],
                "rate_unit_s": 60,
                "connect_fee": "0.01",
                "no_charge_s": 3,
                "minimum_charge": "0.005",
            },
            {
                "service": "ai_agent_minutes",
                "zone": "*",
                "band": "*",
                "rate": "0.06",
                "initial_increment_s": 1,
                "next_increment_s": 1,
                "groups": None,
                "rate_unit_s": 60,
                "connect_fee": "0",
                "no_charge_s": 0,
                "minimum_charge": "0",
            },
        ],
        "unit_rates": [{"service": "number_rental", "zone": "*", "price": "2.5"}],
        "whatsapp_rates": [{"category": "utility", "market": "rest_of_africa", "price": "0.004"}],
        "whatsapp_free_types": ["free_customer_service"],
        "bundles": [
            {
                "name": "wa-service-1000",
                "service": "whatsapp",
                "units": 1000,
                "zones": None,
                "categories": ["service"],
                "period": "month",
            }
        ],
    }
    created = create_plan(client, admin, body)
    got = client.get(f"/v1/rate-plans/{created['id']}", headers=admin.headers).get_json()
    for answer in (created, got):
        sent = {k: v for k, v in answer.items() if k in body}
        assert sent == body
