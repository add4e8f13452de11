"""Authorisation at the edges: FX, suspension, ended assignments, the standing cache;
the FX endpoint; idempotent plan creation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update

from billing.rating.plans import Service
from billing.tariffs.authorisation import authorise
from billing.tariffs.standings import forget_standings
from billing.tenants.models import Tenant, TenantStatus
from tests.factories import on_default_plan, top_up

pytestmark = pytest.mark.integration


def usd_plan(code: str) -> dict:
    return {
        "code": code,
        "name": "Dollar plan",
        "currency": "USD",
        "valid_from": "2020-01-01T00:00:00Z",
        "duration_rates": [
            {"service": "voice", "zone": "*", "rate": "0.05", "initial_increment_s": 60}
        ],
    }


def authorize(client, admin, tenant_id, **extra) -> dict:
    body = {
        "tenant_id": tenant_id,
        "service": "voice",
        "destination": "0754000111",
        "reserve": False,
        **extra,
    }  # held answers: tests/integration/usage/test_reservations.py
    response = client.post("/v1/authorize", json=body, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_usd_plan_needs_the_days_rate_then_converts(client, admin, tenant, sessions):
    plan = client.post(
        "/v1/rate-plans", json=usd_plan(f"USD-{uuid.uuid4().hex[:8]}"), headers=admin.headers
    ).get_json()
    client.post(
        f"/v1/tenants/{tenant.tenant_id}/rate-plan",
        json={"plan_id": plan["id"], "valid_from": "2020-01-01T00:00:00Z"},
        headers=admin.headers,
    )
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000_00)
    # The FX book is shared: a far-future day is one no other test has a rate for.
    future = datetime(2040, 5, 6, 9, tzinfo=UTC)

    with sessions() as session:
        refused = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111", at=future)
    assert (refused.allowed, refused.reason) == (False, "no_fx_rate")
    rate = {"day": "2040-05-06", "rate": "2500", "source": "BoT mean"}
    response = client.post("/v1/fx-rates", json=rate, headers=admin.headers)
    assert response.status_code == 201
    assert response.get_json() == rate | {"base_currency": "USD", "quote_currency": "TZS"}
    with sessions() as session:  # an explicit instant is read afresh, never from the cache
        answer = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111", at=future)
    # US$0.05 a minute = TZS 125.00, + VAT 147.50: six minutes fit in TZS 1,000.00
    assert answer.allowed and answer.max_seconds == 360
    assert answer.rate["currency"] == "USD" and answer.rate["first_charge"] == 147_50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"day": "2026-02-30"}, "day"),
        ({"source": ""}, "source"),
        ({"base_currency": "TZS"}, "quote_currency"),
        ({"quote_currency": "EUR"}, "quote_currency"),
    ],
)
def test_fx_rate_bad_fields(client, admin, body, field):
    payload = {"day": "2026-02-02", "rate": "2500", "source": "BoT"} | body
    response = client.post("/v1/fx-rates", json=payload, headers=admin.headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_fx_rates_are_staff_business(client, tenant, finance):
    payload = {"day": "2041-01-01", "rate": "2500", "source": "BoT"}
    assert client.post("/v1/fx-rates", json=payload, headers=tenant.headers).status_code == 403
    assert client.post("/v1/fx-rates", json=payload, headers=finance.headers).status_code == 201
    corrected = payload | {"rate": "2501.25"}
    again = client.post("/v1/fx-rates", json=corrected, headers=finance.headers)
    assert again.status_code == 201 and again.get_json()["rate"] == "2501.25"


def test_suspension_and_the_standing_cache(client, admin, tenant, sessions):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 500_00)
    assert authorize(client, admin, tenant.tenant_id)["allowed"] is True
    with sessions.begin() as session:  # as another process would: no cache drop here
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.tenant_id)
            .values(status=TenantStatus.SUSPENDED)
        )
    # Within STANDING_TTL_S this process still holds the tenant's standing…
    assert authorize(client, admin, tenant.tenant_id)["allowed"] is True
    forget_standings()  # …which expires (or is dropped) and is read again.
    answer = authorize(client, admin, tenant.tenant_id)
    assert (answer["allowed"], answer["reason"]) == (False, "tenant_suspended")


def test_the_wallet_is_read_on_every_call(client, admin, tenant, sessions):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
    assert authorize(client, admin, tenant.tenant_id)["reason"] == "insufficient_balance"
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 100_00)
    answer = authorize(client, admin, tenant.tenant_id)
    assert answer["allowed"] and answer["available"] == 100_00


def test_an_ended_assignment_leaves_no_plan(client, admin, tenant, sessions):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
    plan_id = client.get(
        f"/v1/tenants/{tenant.tenant_id}/rate-plan", headers=admin.headers
    ).get_json()["current"]["plan_id"]
    now = datetime.now(UTC)
    ending = {
        "plan_id": plan_id,
        "valid_from": (now - timedelta(days=2)).isoformat(),
        "valid_to": (now - timedelta(days=1)).isoformat(),
    }
    made = client.post(
        f"/v1/tenants/{tenant.tenant_id}/rate-plan", json=ending, headers=admin.headers
    )
    assert made.status_code == 201
    assert authorize(client, admin, tenant.tenant_id)["reason"] == "no_rate_plan"
    history = client.get(
        f"/v1/tenants/{tenant.tenant_id}/rate-plan", headers=tenant.headers
    ).get_json()
    assert history["current"]["id"] == made.get_json()["id"] and len(history["assignments"]) == 2


def test_plan_creation_replays_under_its_idempotency_key(client, admin):
    body = usd_plan(f"IDEM-{uuid.uuid4().hex[:8]}")
    headers = admin.headers | {"Idempotency-Key": f"plan-{uuid.uuid4()}"}
    first = client.post("/v1/rate-plans", json=body, headers=headers)
    again = client.post("/v1/rate-plans", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/v1/rate-plans", json=body | {"name": "Other"}, headers=headers)
    assert other.status_code == 422


def test_outside_a_transaction_the_reads_leave_the_session_as_found(tenant, sessions):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
        top_up(session, tenant.tenant_id, 100_00)
    with sessions() as session:
        reads: list[tuple[str, bool]] = []  # (statement, autocommit on its connection)

        def note(connection, _cursor, statement, *_rest) -> None:
            reads.append((statement, connection.connection.dbapi_connection.autocommit))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", note)
        try:
            answer = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111")
            cached = len(reads)
            again = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111")
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert answer.allowed and answer.available_minor == 100_00 and again == answer
        # The reads run in autocommit: no BEGIN, no ROLLBACK. Each statement carries row-level
        # security's scope in its own round trip (billing.core.scoping), unseen here.
        assert reads and all(autocommit for _, autocommit in reads)
        # With the standing cached, an answer is one read: the wallet's balance.
        assert len(reads) - cached == 1 and "balance_minor" in reads[-1][0]
        assert not session.in_transaction()


def test_inside_a_transaction_the_reads_join_it(tenant, sessions):
    with sessions.begin() as session:
        on_default_plan(session, tenant.tenant_id)
    with sessions() as session:
        # A peak minute to a mobile costs TZS 82.60 with VAT: enough in any time band.
        top_up(session, tenant.tenant_id, 100_00)  # not committed
        answer = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111")
        assert answer.allowed and answer.available_minor == 100_00
        assert session.in_transaction()  # still the caller's, to commit or not
        session.rollback()
    with sessions() as session:
        answer = authorise(session, tenant.tenant_id, Service.VOICE, "0754000111")
        assert (answer.allowed, answer.reason) == (False, "insufficient_balance")


@pytest.mark.parametrize("session_id", ["call-1\u0000call-2", "call-1\ud800"])
def test_a_session_id_that_cannot_be_stored_is_refused_naming_the_field(
    client, admin, tenant, sessions, session_id
):
    """Never truncated at the NUL (libpq's escaping would stop there, and the hold would be
    stored, and a previous one released, under another session's id): a 400."""
    with sessions.begin() as session:
        top_up(session, tenant.tenant_id, 1_000_00)
    body = {
        "tenant_id": tenant.tenant_id,
        "service": "voice",
        "destination": "0754000111",
        "session_id": session_id,
    }
    response = client.post("/v1/authorize", json=body, headers=admin.headers)
    assert response.status_code in (400, 422), response.get_json()
    assert "session_id" in str(response.get_json())
