"""Issue 15: bad input is a 4xx naming the field, never a 500 (findings 1-6).

Each test sends what the fuzzer and a new user sent and once got a 500 (or a 201 for a
price no job could rate), through the Flask test client against real PostgreSQL.
"""

from __future__ import annotations

import io
from decimal import InvalidOperation

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

pytestmark = pytest.mark.integration

PLAN = {
    "code": "EDGE-1",
    "name": "Edge plan",
    "currency": "TZS",
    "duration_rates": [
        {"service": "voice", "zone": "*", "rate": "30", "initial_increment_s": 60,
         "next_increment_s": 1},
    ],
}  # fmt: skip


def _refused(response, field: str, status: int = 422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert field in problem.get("errors", {}), problem
    return problem


# Finding 1: a price no arithmetic or bigint can carry is refused at the door.
@pytest.mark.parametrize("rate", ["1E+28", "1E+20", "1e3", "10000000", "-1", "0.000000001", 30])
def test_a_rate_beyond_its_documented_range_is_refused(client, admin, rate):
    plan = {**PLAN, "duration_rates": [{**PLAN["duration_rates"][0], "rate": rate}]}
    _refused(client.post("/v1/rate-plans", json=plan, headers=admin.headers),
             "duration_rates.0.rate")  # fmt: skip


def test_the_largest_documented_rate_is_accepted(client, admin):
    plan = {
        **PLAN,
        "code": "EDGE-MAX",
        "duration_rates": [{**PLAN["duration_rates"][0], "rate": "9999999.99999999"}],
    }
    assert client.post("/v1/rate-plans", json=plan, headers=admin.headers).status_code == 201


# Finding 2: periods and dates.
def test_a_one_day_usage_list_works_with_end_inclusive(client, tenant):
    response = client.get("/v1/usage?start=2026-12-05&end=2026-12-05", headers=tenant.headers)
    assert response.status_code == 200 and response.get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-12-06&end=2026-12-05", "end"),
        ("start=0001-01-01", "start"),
        ("end=9999-06-01", "end"),
    ],
)
def test_reversed_or_absurd_usage_periods_are_422(client, tenant, query, field):
    _refused(client.get(f"/v1/usage?{query}", headers=tenant.headers), field)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+03:00", "9999-12-31T23:59:59-05:00"])
def test_bundles_at_an_absurd_instant_is_422(client, tenant, at):
    _refused(client.get("/v1/usage/bundles", query_string={"at": at}, headers=tenant.headers),
             "at")  # fmt: skip


# Finding 3: NUL and lone surrogates.
def test_a_nul_in_a_path_id_is_404_not_500(client, admin, tenant):
    response = client.get("/v1/tenants/ten_%00x", headers=admin.headers)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.patch("/v1/tenants/ten_%00x", json={"city": "Arusha"}, headers=admin.headers)
    assert response.status_code == 404


def test_a_nul_in_a_query_parameter_is_422_naming_it(client, admin):
    _refused(client.get("/v1/usage?tenant_id=ten_%00", headers=admin.headers), "tenant_id")
    _refused(client.get("/v1/audit-events?actor=a%00", headers=admin.headers), "actor")


def test_a_nul_or_lone_surrogate_in_a_json_string_is_422_naming_it(client, admin, tenant):
    body = '{"name": "Duka\\u0000", "email": "a@b.tz", "msisdn": "255712345678",' \
           ' "billing_mode": "prepaid", "currency": "TZS"}'  # fmt: skip
    response = client.post(
        "/v1/tenants", data=body, content_type="application/json", headers=admin.headers
    )
    _refused(response, "name")
    surrogate = body.replace("\\u0000", "\\ud800")
    response = client.post(
        "/v1/tenants", data=surrogate, content_type="application/json", headers=admin.headers
    )
    assert "lone surrogate" in _refused(response, "name")["errors"]["name"][0]
    patch = client.patch(
        f"/v1/tenants/{tenant.tenant_id}",
        data='{"city": "Ar\\u0000usha"}',
        content_type="application/json",
        headers=admin.headers,
    )
    _refused(patch, "city")


def test_a_nul_deep_in_a_usage_batch_names_the_record_and_field(client, admin, tenant):
    record = {"source_id": "x", "tenant_id": tenant.tenant_id, "caller": "2557\x00",
              "callee": "255712345678", "started_at": "2026-12-05T10:00:00+03:00",
              "duration_s": 10, "billsec_s": 10, "disposition": "ANSWERED"}  # fmt: skip
    response = client.post("/v1/usage/cdrs", json={"records": [record]}, headers=admin.headers)
    _refused(response, "records.0.caller")


# Finding 4: FX rates and CSV fields beyond what can be stored.
@pytest.mark.parametrize("rate", ["1e20", "1e-30", "1000000", "0", "0.0000001", 1e20])
def test_an_fx_rate_beyond_its_range_is_422(client, admin, rate):
    body = {"day": "2026-12-01", "rate": rate, "source": "BoT"}
    _refused(client.post("/v1/fx-rates", json=body, headers=admin.headers), "rate")


def test_an_fx_rate_in_range_is_stored(client, admin):
    body = {"day": "2026-12-01", "rate": "2590.125", "source": "BoT"}
    response = client.post("/v1/fx-rates", json=body, headers=admin.headers)
    assert response.status_code in (200, 201), response.get_json()


def test_a_destinations_csv_with_a_huge_field_is_refused_not_500(client, admin):
    csv = b"prefix,zone,country,operator,market\n255" + b"7" * (130 * 1024) + b",Z,TZ,x,TZ\n"
    response = client.post(
        "/v1/destinations/import",
        data={"file": (io.BytesIO(csv), "destinations.csv")},
        content_type="multipart/form-data",
        headers=admin.headers,
    )
    assert response.status_code in (413, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"


# Finding 6: names printed on documents, and the Idempotency-Key.
@pytest.mark.parametrize(
    "name", ["   ", "Duka\u202eDTL", "Duka\u2066x", "Duka\x1b[31m", "Duka\x7f"]
)
def test_names_that_print_on_invoices_refuse_blanks_controls_and_bidi(client, admin, name):
    body = {"name": name, "email": "a@b.tz", "msisdn": "255712345678",
            "billing_mode": "prepaid", "currency": "TZS"}  # fmt: skip
    _refused(client.post("/v1/tenants", json=body, headers=admin.headers), "name")


def test_a_non_ascii_idempotency_key_gets_its_reason(client, tenant):
    response = client.post(
        "/v1/topups",
        json={"amount": 500000, "currency": "TZS"},
        headers={**tenant.headers, "Idempotency-Key": "ufunguo-é"},
    )
    problem = _refused(response, "Idempotency-Key")
    assert "visible ASCII" in problem["errors"]["Idempotency-Key"][0]


# What still escapes validation is a 4xx logged as a bug; a database that is away is not.
@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DataError("INSERT", {}, Exception("integer out of range")), 422),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), 409),
        (InvalidOperation(), 422),
    ],
)
def test_an_escaped_storage_or_decimal_error_is_a_4xx_problem_logged(app, caplog, error, status):
    with app.test_request_context("/v1/anything", method="POST"):
        response = app.make_response(app.handle_user_exception(error))
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert any(r.levelname == "ERROR" and "bug:" in r.getMessage() for r in caplog.records)


def test_an_unavailable_database_is_not_swallowed_as_bad_input(app):
    with app.test_request_context("/v1/anything"):
        error = OperationalError("SELECT", {}, Exception("gone"))
        response = app.make_response(app.handle_user_exception(error))
    assert response.status_code >= 500  # the caller may retry; never "your input was bad"


def test_a_null_record_in_a_batch_is_rejected_on_its_own(client, admin):
    response = client.post("/v1/usage/cdrs", json={"records": [None]}, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    # "duplicate" when an earlier test sent one: a malformed record's key is global (#15.7).
    assert response.get_json()["results"][0]["status"] in ("rejected", "duplicate")


@pytest.mark.parametrize(
    "encoded",
    [
        b'{"records": [{"caller": "\\uDFFF"}]}',  # upper-case escape
        b'{"records": [{"caller": "x'
        + "\ud800".encode("utf-8", "surrogatepass")
        + b'"}]}',  # a surrogate as raw UTF-8 bytes: not JSON at all (400)
    ],
)
def test_the_shortcut_past_the_text_scan_misses_no_unstorable_text(client, admin, encoded):
    """A body is walked string by string unless its bytes cannot hold NUL or a lone
    surrogate (billing.web.validation._MAYBE_UNSAFE): these must still be refused."""
    response = client.post(
        "/v1/usage/cdrs", data=encoded, content_type="application/json", headers=admin.headers
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert {"records.0.caller", "body"} & set(response.get_json()["errors"])
