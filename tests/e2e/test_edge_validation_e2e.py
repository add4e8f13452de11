"""Issue 15, findings 2, 3, 4 and 6 over real HTTP through `billing serve`: what the
fuzzer and a new user sent and once got a 500 (or a 201, or the wrong reason) for.

Each case is its own test so a run on the old code counts what each finding broke.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.e2e

TENANT = (
    '{"name": "Duka%s", "email": "a@b.tz", "msisdn": "255712345678",'
    ' "billing_mode": "prepaid", "currency": "TZS"}'
)


def _refused(response: requests.Response, field: str, status: int = 422) -> dict:
    """A problem document with `status`, naming `field`."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert field in problem.get("errors", {}), problem
    return problem


# Finding 2: periods are half-open and dates have a sane window.
def test_a_one_day_usage_list_works(live_url, make_tenant):
    tenant = make_tenant()
    response = requests.get(
        f"{live_url}/v1/usage?start=2026-12-05&end=2026-12-05", headers=tenant.headers, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-12-06&end=2026-12-05", "end"),
        ("start=0001-01-01", "start"),
        ("end=9999-06-01", "end"),
    ],
)
def test_a_reversed_or_absurd_usage_period_is_422(live_url, make_tenant, query, field):
    response = requests.get(f"{live_url}/v1/usage?{query}", headers=make_tenant().headers,
                            timeout=10)  # fmt: skip
    _refused(response, field)


def test_bundles_at_the_year_one_is_422(live_url, make_tenant):
    response = requests.get(
        f"{live_url}/v1/usage/bundles",
        params={"at": "0001-01-01T00:00:00+03:00"},
        headers=make_tenant().headers,
        timeout=10,
    )
    _refused(response, "at")


# Finding 3: NUL (PostgreSQL refuses it in text) and lone surrogates.
def test_a_nul_in_a_path_id_is_404(live_url, admin):
    url = f"{live_url}/v1/tenants/ten_%00x"
    got = requests.get(url, headers=admin.headers, timeout=10)
    patched = requests.patch(url, json={"city": "Arusha"}, headers=admin.headers, timeout=10)
    for response in (got, patched):
        assert response.status_code == 404, response.text[:300]
        assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/usage?tenant_id=ten_%00", "tenant_id"), ("/v1/audit-events?actor=a%00", "actor")],
)
def test_a_nul_in_a_query_parameter_is_422_naming_it(live_url, admin, path, field):
    _refused(requests.get(f"{live_url}{path}", headers=admin.headers, timeout=10), field)


def test_a_nul_in_a_json_string_is_422_naming_it(live_url, admin, make_tenant):
    created = requests.post(
        f"{live_url}/v1/tenants",
        data=TENANT % "\\u0000",
        headers={**admin.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    _refused(created, "name")
    patched = requests.patch(
        f"{live_url}/v1/tenants/{make_tenant().tenant_id}",
        data='{"city": "Ar\\u0000usha"}',
        headers={**admin.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    _refused(patched, "city")  # once a 503 "retry", as if the database were away


def test_a_lone_surrogate_in_a_tenant_name_is_422_naming_it(live_url, admin):
    response = requests.post(
        f"{live_url}/v1/tenants",
        data=TENANT % "\\ud800",  # escaped: the JSON is valid, the string is not text
        headers={**admin.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert "lone surrogate" in _refused(response, "name")["errors"]["name"][0]


# Finding 4: numbers and fields beyond what the columns can hold.
@pytest.mark.parametrize("rate", ["1e20", "1e-30"])
def test_an_fx_rate_beyond_its_range_is_422(live_url, admin, rate):
    body = {"day": "2026-12-01", "rate": rate, "source": "BoT"}
    _refused(requests.post(f"{live_url}/v1/fx-rates", json=body, headers=admin.headers,
                           timeout=10), "rate")  # fmt: skip


def test_a_destinations_csv_field_over_128_kib_is_4xx(live_url, admin):
    csv = b"prefix,zone,country,operator,market\n255" + b"7" * (130 * 1024) + b",Z,TZ,x,TZ\n"
    response = requests.post(
        f"{live_url}/v1/destinations/import",
        files={"file": ("destinations.csv", csv, "text/csv")},
        headers=admin.headers,
        timeout=30,
    )
    assert response.status_code in (413, 422), response.text[:300]
    assert response.headers["Content-Type"] == "application/problem+json"


# Finding 6: names that print on tax invoices, and the Idempotency-Key's reason.
@pytest.mark.parametrize(
    "name", ["   ", "Duka\u202eDTL", "Duka\u2066x", "Duka\x1b[31m", "Duka\x07"],
    ids=["blank", "rlo", "lri", "escape", "bell"],
)  # fmt: skip
def test_a_blank_control_or_bidi_name_is_refused(live_url, admin, name):
    body = {"name": name, "email": "a@b.tz", "msisdn": "255712345678",
            "billing_mode": "prepaid", "currency": "TZS"}  # fmt: skip
    _refused(requests.post(f"{live_url}/v1/tenants", json=body, headers=admin.headers,
                           timeout=10), "name")  # fmt: skip


def test_a_non_ascii_idempotency_key_gets_its_reason(live_url, make_tenant):
    response = requests.post(
        f"{live_url}/v1/topups",
        json={"amount": 500000, "currency": "TZS"},
        headers={**make_tenant().headers, "Idempotency-Key": "ufunguo-é"},
        timeout=10,
    )
    assert "visible ASCII" in _refused(response, "Idempotency-Key")["errors"]["Idempotency-Key"][0]
