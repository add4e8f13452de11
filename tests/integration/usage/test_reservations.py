"""Authorisations hold what they answer (issue 19): concurrent sessions never promise the
same money twice; the rated record settles its reservation; reservations expire; the
wallet's `reserved`, bundles and postpaid credit limits count them."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET
from billing.tariffs.rate_plans import assign_plan
from billing.tariffs.seed import SEED_VALID_FROM, seed_tariffs
from billing.tenants.models import BillingMode
from billing.usage.models import Reservation, UsageRecord
from billing.usage.reservations import expire
from tests.integration.usage.conftest import cdr, send
from tests.integration.usage.test_bundles import bundle_plan

pytestmark = pytest.mark.integration
CALLEE = "0754 000 111"


def authorize(client, admin, tenant_id: str, **extra) -> dict:
    body = {"tenant_id": tenant_id, "service": "voice", "destination": CALLEE, **extra}
    response = client.post("/v1/authorize", json=body, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wallet(client, tenant) -> dict:
    response = client.get("/v1/wallet", headers=tenant.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def call_record(tenant_id: str, source_id: str, seconds: int) -> dict:
    now = datetime.now(UTC).isoformat()
    return cdr(tenant_id, source_id=source_id, callee=CALLEE, started_at=now, answered_at=now,
               duration_s=seconds, billsec_s=seconds)  # fmt: skip


def reservations(sessions, tenant_id: str) -> list[Reservation]:
    with sessions() as session:
        return list(
            session.execute(
                select(Reservation)
                .where(Reservation.tenant_id == tenant_id)
                .order_by(Reservation.id)
            ).scalars()
        )


def test_a_held_answer_is_reserved_shown_and_settled_by_its_record(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    tid = tenant.tenant_id
    first = authorize(client, admin, tid, session_id="call-1", seconds=120)
    assert first["allowed"] and first["max_seconds"] == 120 and first["reserved"] > 0
    assert first["reservation_id"] and first["expires_at"]
    shown = wallet(client, tenant)
    assert (shown["balance"], shown["reserved"]) == (1_000_00, first["reserved"])
    assert shown["available"] == 1_000_00 - first["reserved"]
    # The next session sees only what is not held.
    second = authorize(client, admin, tid, reserve=False)
    assert second["available"] == 1_000_00 - first["reserved"]
    # Re-authorising the same session replaces its hold.
    again = authorize(client, admin, tid, session_id="call-1", seconds=60)
    assert wallet(client, tenant)["reserved"] == again["reserved"] < first["reserved"]
    assert [r.status for r in reservations(sessions, tid)] == ["released", "open"]
    # The call lasted 45 s: its record is charged and the reservation settled.
    send(client, admin, [call_record(tid, "call-1", 45)])
    after = wallet(client, tenant)
    [row] = [r for r in rows_of(sessions, tid)]
    assert (after["reserved"], after["balance"]) == (0, 1_000_00 - row.net_minor - row.vat_minor)
    held = reservations(sessions, tid)[-1]
    assert (held.status, held.usage_id) == ("settled", row.id)


def rows_of(sessions, tenant_id: str) -> list[UsageRecord]:
    with sessions() as session:
        return list(
            session.execute(select(UsageRecord).where(UsageRecord.tenant_id == tenant_id)).scalars()
        )


def test_a_reservation_without_a_session_settles_by_route_and_expires(
    client, admin, rated_tenant, sessions, runtime
):
    tenant = rated_tenant()
    tid = tenant.tenant_id
    held = authorize(client, admin, tid, seconds=30)
    assert wallet(client, tenant)["reserved"] == held["reserved"]
    send(client, admin, [call_record(tid, uuid.uuid4().hex, 20)])  # the same route
    assert wallet(client, tenant)["reserved"] == 0
    lapsing = authorize(client, admin, tid, seconds=30, session_id="never-reported")
    assert wallet(client, tenant)["reserved"] == lapsing["reserved"]
    with runtime.unit_of_work() as session:  # its time passes
        session.execute(
            update(Reservation)
            .where(Reservation.session_id == "never-reported")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert wallet(client, tenant)["reserved"] == 0  # counts no more, before any sweep
    with runtime.unit_of_work() as session:
        assert expire(session) >= 1
    assert reservations(sessions, tid)[-1].status == "expired"


def test_bundle_units_held_are_not_promised_twice(client, admin, runtime, make_tenant, sessions):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        bundle_plan(session, tenant.tenant_id, 120)  # 120 s to mobiles, wallet empty
    call = {"destination": "0712 345 678"}
    first = authorize(client, admin, tenant.tenant_id, session_id="b-1", **call)
    assert (first["allowed"], first["max_seconds"], first["reserved"]) == (True, 120, 0)
    second = authorize(client, admin, tenant.tenant_id, session_id="b-2", **call)
    assert (second["allowed"], second["reason"]) == (False, "insufficient_balance")
    [held] = [r for r in reservations(sessions, tenant.tenant_id) if r.status == "open"]
    assert held.bundle_draws == {"mobile-minutes": 120}


def test_a_postpaid_credit_limit_counts_what_is_held(client, admin, make_tenant, runtime):
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        plan = seed_tariffs(session).plan
        assign_plan(session, tenant.tenant_id, plan.id, valid_from=SEED_VALID_FROM,
                    credit_limit_minor=200_00)  # fmt: skip
    held = authorize(client, admin, tenant.tenant_id, session_id="p-1", seconds=60)
    assert held["allowed"] and held["available"] == 200_00
    after = authorize(client, admin, tenant.tenant_id, reserve=False)
    assert after["available"] == 200_00 - held["reserved"]


def test_another_tenants_wallet_never_shows_a_reservation(client, admin, rated_tenant):
    owner, other = rated_tenant(), rated_tenant()
    authorize(client, admin, owner.tenant_id, session_id="mine", seconds=60)
    assert wallet(client, other)["reserved"] == 0
    peek = client.get(f"/v1/wallet?tenant_id={owner.tenant_id}", headers=other.headers)
    assert peek.status_code == 404


def run_sessions(app, admin, tenant_id: str, count: int, caps: list[int], reserve: bool) -> None:
    """`count` sessions authorised at once on real threads, then each call made as long
    as it was allowed (never longer) and its CDR posted."""
    start, answered = threading.Barrier(count), threading.Barrier(count)
    errors: list[BaseException] = []
    run = uuid.uuid4().hex[:8]  # source ids are unique per source system, across tenants

    def session(n: int) -> None:
        try:
            with app.test_client() as client:
                start.wait()
                answer = authorize(client, admin, tenant_id, session_id=f"{run}-{n}",
                                   seconds=caps[n % len(caps)], reserve=reserve)  # fmt: skip
                answered.wait()  # every session answered before any call is rated
                if answer["allowed"]:
                    send(
                        client, admin, [call_record(tenant_id, f"{run}-{n}", answer["max_seconds"])]
                    )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def outcome(sessions, tenant_id: str) -> tuple[int, int]:
    """The wallet's balance, and how many records it could not pay (lost revenue)."""
    with sessions() as session:
        balance = account_balance(session, tenant_id, WALLET, "TZS").balance_minor
    unbilled = [r for r in rows_of(sessions, tenant_id) if r.status == "unbilled"]
    return balance, len(unbilled)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.integers(2, 6),
    st.lists(st.integers(60, 900), min_size=1, max_size=4),
    st.integers(150_00, 600_00),
)
def test_concurrent_sessions_never_overspend(
    app, admin, rated_tenant, sessions, count, caps, money
):
    """Sessions authorised at the same moment, each then using all it was allowed: every
    record is paid and the wallet never goes below zero (no overspend at all; the
    guarantee asked is within one increment)."""
    tenant = rated_tenant(balance=money)
    run_sessions(app, admin, tenant.tenant_id, count, caps, reserve=True)
    balance, unbilled = outcome(sessions, tenant.tenant_id)
    assert unbilled == 0 and balance >= 0
    held = [(r.session_id, r.status, r.seconds) for r in reservations(sessions, tenant.tenant_id)]
    stored = [(r.source_id, r.status, r.billable_s) for r in rows_of(sessions, tenant.tenant_id)]
    assert all(status == "settled" for _, status, _ in held), (held, stored)


def test_without_holds_the_same_sessions_overspend(app, admin, rated_tenant, sessions):
    """The checker catches the leak it guards against: unheld answers each promise the
    whole balance, and the excess is left unbilled (revenue lost)."""
    tenant = rated_tenant(balance=150_00)
    run_sessions(app, admin, tenant.tenant_id, 4, [900], reserve=False)
    _balance, unbilled = outcome(sessions, tenant.tenant_id)
    assert unbilled >= 1
