"""Tariffs on the running service: prefixes loaded by the CLI, a plan and its assignment
over HTTP, authorisation from the wallet, and a new version priced at once."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from billing.tariffs.seed import destinations_csv
from tests.e2e.conftest import billing
from tests.factories import top_up

pytestmark = pytest.mark.e2e


def test_load_price_and_authorise_over_real_http(live_url, service_env, sessions, tmp_path):
    # The standard table, as a file: loading it where it is already loaded changes nothing.
    prefixes = tmp_path / "prefixes.csv"
    prefixes.write_text(destinations_csv(), encoding="utf-8")
    assert "prefixes loaded" in billing(service_env, "load-destinations", str(prefixes))
    key = re.search(
        r"(mlp_\S+)",
        billing(
            service_env, "create-staff", "--email", f"{uuid.uuid4().hex}@m.tz", "--role", "admin"
        ),
    ).group(1)
    admin = {"Authorization": f"Bearer {key}"}

    def post(path: str, body: dict) -> requests.Response:
        return requests.post(f"{live_url}{path}", json=body, headers=admin, timeout=10)

    tenant = post(
        "/v1/tenants",
        {
            "name": "Simu Poa",
            "email": "a@simupoa.tz",
            "msisdn": "0754 000 222",
            "billing_mode": "prepaid",
            "currency": "TZS",
        },
    ).json()
    code = f"E2E-{uuid.uuid4().hex[:8]}"
    plan = {
        "code": code,
        "name": "E2E",
        "currency": "TZS",
        "valid_from": "2020-01-01T00:00:00Z",
        "duration_rates": [{"service": "voice", "zone": "*", "rate": "100"}],
    }
    created = post("/v1/rate-plans", plan)
    assert created.status_code == 201, created.text
    assigned = post(
        f"/v1/tenants/{tenant['id']}/rate-plan",
        {"plan_id": created.json()["id"], "valid_from": "2020-01-01T00:00:00Z"},
    )
    assert assigned.status_code == 201, assigned.text
    with sessions.begin() as session:
        top_up(session, tenant["id"], 500_00)
    ask = {
        "tenant_id": tenant["id"],
        "service": "voice",
        "destination": "+255 754 000 111",
        "reserve": False,
    }  # questions: a held answer would take the wallet (test_reservations)
    answer = post("/v1/authorize", ask).json()
    # 100.00 a minute (60/60) + VAT = 118.00: four minutes in 500.00
    assert (answer["allowed"], answer["max_seconds"]) == (True, 240), answer
    assert answer["rate"]["zone"] == "TZ-MOB-VODACOM"
    cheaper = plan | {"duration_rates": [{"service": "voice", "zone": "*", "rate": "50"}]}
    assert post("/v1/rate-plans", cheaper).json()["version"] == 2
    answer = post("/v1/authorize", ask).json()
    assert answer["max_seconds"] == 480 and answer["rate"]["plan_version"] == 2
    refused = post("/v1/authorize", ask | {"service": "fax"})
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
