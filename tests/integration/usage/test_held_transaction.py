"""A held answer outside a transaction (`POST /v1/authorize`'s) in two round trips
(`billing.usage.held_transaction`): the same answers and rows as the general path (the
session's transaction, the caller's commit), the read taken under the tenant's lock, the
session's previous hold released, the row-level-security scope on every statement."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors, pq
from sqlalchemy import select, text, update

from billing.core import scoping
from billing.core.clock import utcnow
from billing.core.money import Currency
from billing.rating.plans import Service
from billing.tariffs.authorisation import Authorisation, Hold, authorise
from billing.tariffs.budgets import WALLET_AND_BUNDLES, prepaid_read
from billing.tariffs.rate_plans import assign_plan
from billing.tariffs.seed import SEED_VALID_FROM, seed_tariffs
from billing.tariffs.service import read_standing, tariff_from
from billing.tariffs.standings import forget_standings
from billing.tenants.models import BillingMode, Tenant, TenantStatus
from billing.tenants.service import NewTenant, create_tenant
from billing.usage import reservations
from billing.usage.held_transaction import HeldTransaction
from billing.usage.models import Reservation
from tests.factories import on_default_plan, top_up
from tests.integration.usage.test_bundles import bundle_plan

pytestmark = pytest.mark.integration
MOBILE = "0712 345 678"
_SETTINGS = settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def two_trips(sessions, tenant_id: str, hold: Hold, scope=scoping.STAFF, **ask) -> Authorisation:
    """As the API asks: a session outside any transaction (the two-trip path)."""
    with sessions() as session:
        scoping.set_scope(session, scope)
        answer = authorise(session, tenant_id, ask.pop("service", Service.VOICE),
                           ask.pop("destination", MOBILE), hold=hold, **ask)  # fmt: skip
        assert not session.in_transaction()  # committed before the answer returned
        return answer


def ask_only(sessions, tenant_id: str) -> Authorisation:
    with sessions() as session:
        scoping.set_scope(session, scoping.STAFF)
        return authorise(session, tenant_id, Service.VOICE, MOBILE)


def general(runtime, tenant_id: str, hold: Hold, **ask) -> Authorisation:
    """The general path: inside the caller's transaction, committed by it."""
    with runtime.unit_of_work() as session:
        scoping.set_scope(session, scoping.STAFF)
        return authorise(session, tenant_id, ask.pop("service", Service.VOICE),
                         ask.pop("destination", MOBILE), hold=hold, **ask)  # fmt: skip


def held_rows(sessions, tenant_id: str) -> list[tuple]:
    with sessions() as session:
        found = session.execute(
            select(Reservation).where(Reservation.tenant_id == tenant_id).order_by(Reservation.id)
        ).scalars()
        return [
            (r.currency, r.service, r.destination, r.session_id, r.amount_minor, r.seconds,
             r.messages, r.bundle_draws, r.status, r.expires_at - r.created_at,
             r.closed_at is not None)
            for r in found
        ]  # fmt: skip


def _comparable(answer: Authorisation) -> Authorisation:
    """Twins differ by their ids (a bundle plan is each tenant's own) and the instant."""
    rate = {k: v for k, v in answer.rate.items() if k != "plan_id"} if answer.rate else None
    return replace(answer, tenant_id="", reservation_id=None, expires_at=None, rate=rate)


KINDS = ("prepaid", "bundles", "postpaid_limit", "postpaid")


def make_kind(runtime, make_tenant, kind: str, money: int) -> str:
    mode = BillingMode.POSTPAID if kind.startswith("postpaid") else BillingMode.PREPAID
    tenant_id = make_tenant(billing_mode=mode).tenant_id
    with runtime.unit_of_work() as session:
        if kind == "prepaid":
            on_default_plan(session, tenant_id)
        elif kind == "bundles":
            bundle_plan(session, tenant_id, 120)
        else:
            limit = money if kind == "postpaid_limit" else None
            plan = seed_tariffs(session).plan
            assign_plan(session, tenant_id, plan.id, valid_from=SEED_VALID_FROM,
                        credit_limit_minor=limit)  # fmt: skip
        if mode is BillingMode.PREPAID and money:
            top_up(session, tenant_id, money)
    return tenant_id


_ASK = st.tuples(
    st.sampled_from(["a", "b", None]),  # the session: re-authorising releases its hold
    st.sampled_from([Service.VOICE, Service.VOICE, Service.SMS]),
    st.sampled_from([MOBILE, "0754 000 111", "022 212 3456"]),
    st.one_of(st.none(), st.integers(1, 900)),
    st.integers(1, 3),
)


@_SETTINGS
@given(st.sampled_from(KINDS), st.integers(0, 300_00), st.lists(_ASK, min_size=1, max_size=5))
def test_two_trips_answer_and_hold_as_the_general_path(
    runtime, sessions, make_tenant, kind, money, asks
):
    """Twin tenants, the same asks: one through the general path, one through the two
    round trips; the same answers, the same rows (releases included)."""
    twins = [make_kind(runtime, make_tenant, kind, money) for _ in range(2)]
    for session_id, service, destination, seconds, messages in asks:
        hold = Hold(session_id, seconds, messages)
        ask = {"service": service, "destination": destination}
        old = general(runtime, twins[0], hold, **ask)
        new = two_trips(sessions, twins[1], hold, **ask)
        assert _comparable(new) == _comparable(old)
        assert (new.reservation_id is None) == (old.reservation_id is None)
    assert held_rows(sessions, twins[1]) == held_rows(sessions, twins[0])


def test_the_read_is_rendered_as_sqlalchemy_binds_it(runtime, sessions, make_tenant):
    """The budget's read sent as a literal query returns what SQLAlchemy's execution of
    the same construct returns (a wallet, held money and units, bundle rows)."""
    tenant_id = make_kind(runtime, make_tenant, "bundles", 500_00)
    assert two_trips(sessions, tenant_id, Hold("x", 60)).reservation_id
    with sessions() as session:
        scoping.set_scope(session, scoping.STAFF)
        standing = read_standing(session, tenant_id, utcnow())
        read, params = prepaid_read(standing, bundled_plan(session, standing), utcnow())
        assert read is WALLET_AND_BUNDLES
        expected = [tuple(row) for row in session.connection().execute(read, params)]
        session.rollback()
        connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        held = HeldTransaction(connection, scoping.STAFF, tenant_id, None, utcnow())
        try:
            got = [tuple(row) for row in held.begin(read, params)]
        finally:
            held.abort()
    assert sorted(got, key=str) == sorted(expected, key=str) and got[0][-1] == 1


def test_waiting_for_the_server_costs_no_cpu(sessions, make_tenant):
    """The held path's wait sleeps until the server answers: 50 ms of the server's work
    cost this thread well under a millisecond of CPU (spinning, as psycopg's wait does
    when given no interval, cost all 50)."""
    with sessions() as session:
        connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        held = HeldTransaction(connection, None, "ten_none", None, utcnow())
        used = time.thread_time()
        (result,) = held._run("SELECT pg_sleep(0.05)")
        used = time.thread_time() - used
    assert result.status == pq.ExecStatus.TUPLES_OK
    assert used < 0.01, f"{used * 1000:.1f} ms of CPU waiting 50 ms"


def bundled_plan(session, standing):
    return tariff_from(session, standing, utcnow()).plan


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=60).filter(lambda s: "\x00" not in s))
def test_any_session_id_is_stored_as_given(runtime, sessions, tenant_for_ids, session_id):
    """Values go as literals: quotes, backslashes, percent signs and any text arrive
    whole, and are released by the same text."""
    first = two_trips(sessions, tenant_for_ids, Hold(session_id, 30))
    again = two_trips(sessions, tenant_for_ids, Hold(session_id, 30))
    with sessions() as session:
        found = session.execute(
            select(Reservation.id, Reservation.status).where(
                Reservation.tenant_id == tenant_for_ids,
                Reservation.session_id == session_id,
                Reservation.id >= first.reservation_id,  # examples may repeat a text
            )
        ).all()
    assert dict(found) == {first.reservation_id: "released", again.reservation_id: "open"}


def test_a_session_id_with_nul_is_refused_not_cut_short(sessions, tenant_for_ids):
    """libpq's literal escaping stops at a NUL: "a\\x00b" would be held (and "a" released)
    as "a". The API refuses such text first (tests/integration/tariffs); here, below it."""
    with pytest.raises(ValueError, match="NUL"):
        two_trips(sessions, tenant_for_ids, Hold("call-1\x00call-2", 30))
    with sessions() as session:
        found = session.execute(
            select(Reservation.id).where(
                Reservation.tenant_id == tenant_for_ids, Reservation.session_id == "call-1"
            )
        ).all()
    assert found == []


@pytest.fixture(scope="module")
def tenant_for_ids(runtime):
    with runtime.unit_of_work() as session:
        tenant = create_tenant(
            session,
            NewTenant(name="Ids", email="ids@duka.co.tz", msisdn="255712345678",
                      billing_mode=BillingMode.PREPAID, currency=Currency.TZS),
        )  # fmt: skip
        on_default_plan(session, tenant.id)
        top_up(session, tenant.id, 1_000_000_00)
    return tenant.id


@pytest.mark.parametrize("path", ["two_trips", "general"])
def test_the_budget_is_read_only_once_the_lock_is_granted(runtime, sessions, make_tenant, path):
    """Another transaction holds the tenant's lock and holds all its money, uncommitted:
    an authorisation waits for the lock, then sees that hold and refuses. (Read before
    the lock was granted, the budget would be the whole wallet, and it would allow.)"""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 200_00)
    assert ask_only(sessions, tenant_id).allowed  # the standing cached: the lock comes next
    answers: list = []
    with runtime.unit_of_work() as blocker:
        blocker.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": f"malipo-reserve:{tenant_id}"})  # fmt: skip
        values = reservations.hold_values(
            tenant_id=tenant_id, currency="TZS", service="voice", destination="255712345678",
            session_id="blocker", amount_minor=200_00, seconds=60, messages=None,
            bundle_draws={}, now=utcnow(),
        )  # fmt: skip
        reservations.hold(blocker, values)
        blocker.flush()

        def ask() -> None:
            if path == "two_trips":
                answers.append(two_trips(sessions, tenant_id, Hold("late", 60)))
            else:
                answers.append(general(runtime, tenant_id, Hold("late", 60)))

        worker = threading.Thread(target=ask)
        worker.start()
        wait_for_a_lock_wait(runtime)
    worker.join(10)
    [answer] = answers
    assert (answer.allowed, answer.reason, answer.available_minor) == (
        False, "insufficient_balance", 0
    )  # fmt: skip


def wait_for_a_lock_wait(runtime, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    with runtime.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar()
            connection.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the authorisation never waited for the tenant's lock")


def test_two_connections_never_both_hold_the_last_money(runtime, sessions, make_tenant):
    """Eight sessions at once on a wallet one call can empty: what is held, all
    together, never exceeds the wallet."""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 150_00)  # a minute: TZS 82.60
    assert ask_only(sessions, tenant_id).allowed
    start, answers = threading.Barrier(8), []

    def ask(n: int) -> None:
        start.wait()
        answers.append(two_trips(sessions, tenant_id, Hold(f"s{n}", None)))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(answers) == 8
    held = sum(a.reserved_minor or 0 for a in answers if a.reservation_id)
    assert 0 < held <= 150_00
    assert held == sum(row[4] for row in held_rows(sessions, tenant_id))
    assert sum(1 for a in answers if not a.allowed) >= 1  # the money ran out for some


def test_a_refusal_still_releases_the_sessions_previous_hold(runtime, sessions, make_tenant):
    """Re-authorising a session releases its hold even when the new answer is a refusal
    (as the general path, whose caller commits the release)."""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 100_00)
    assert two_trips(sessions, tenant_id, Hold("call", 60)).allowed
    with runtime.unit_of_work() as session:
        session.execute(
            update(Tenant).where(Tenant.id == tenant_id).values(status=TenantStatus.SUSPENDED)
        )
    forget_standings()
    refused = two_trips(sessions, tenant_id, Hold("call", 60))
    assert (refused.allowed, refused.reason) == (False, "tenant_suspended")
    assert [row[8] for row in held_rows(sessions, tenant_id)] == ["released"]


@pytest.mark.parametrize("scope", ["other_tenant", "anonymous"])
def test_the_held_path_sees_nothing_outside_its_scope(runtime, sessions, make_tenant, scope):
    """Under another tenant's scope (or none), the release and the read find none of the
    tenant's rows: its hold stays open, its wallet reads as empty, nothing is held."""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 100_00)
    other = make_kind(runtime, make_tenant, "prepaid", 100_00)
    assert two_trips(sessions, tenant_id, Hold("call", 60)).allowed  # standing cached
    seen = scoping.Scope.tenant(other) if scope == "other_tenant" else scoping.ANONYMOUS
    answer = two_trips(sessions, tenant_id, Hold("call", 60), scope=seen)
    assert (answer.allowed, answer.available_minor) == (False, 0)
    assert [row[8] for row in held_rows(sessions, tenant_id)] == ["open"]


def test_the_insert_carries_the_scope(runtime, sessions, make_tenant):
    """A hold written under another tenant's scope is refused by row-level security
    and rolled back: the scope is in force on the INSERT too."""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 100_00)
    other = make_kind(runtime, make_tenant, "prepaid", 100_00)
    values = reservations.hold_values(
        tenant_id=tenant_id, currency="TZS", service="voice", destination="255712345678",
        session_id="sneak", amount_minor=1, seconds=60, messages=None, bundle_draws={},
        now=utcnow(),
    )  # fmt: skip
    with sessions() as session:
        connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        held = HeldTransaction(connection, scoping.Scope.tenant(other), tenant_id, None, utcnow())
        held.begin(None, {})
        with pytest.raises(errors.InsufficientPrivilege):
            held.hold(values)
        held.abort()
        raw = connection.connection.driver_connection
        assert raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
    assert held_rows(sessions, tenant_id) == []


def test_a_failure_after_the_lock_rolls_everything_back(
    runtime, sessions, make_tenant, monkeypatch
):
    """Raised between the two round trips: the release is undone, the lock let go, and
    the pooled connection is handed back idle (the next held answer goes as usual)."""
    tenant_id = make_kind(runtime, make_tenant, "prepaid", 500_00)
    first = two_trips(sessions, tenant_id, Hold("call", 60))

    def broken(*_args, **_kwargs):
        raise RuntimeError("planted")

    with monkeypatch.context() as patch:
        patch.setattr("billing.tariffs.authorisation.rate_usage", broken)
        with pytest.raises(RuntimeError, match="planted"):
            two_trips(sessions, tenant_id, Hold("call", 60))
    assert [row[8] for row in held_rows(sessions, tenant_id)] == ["open"]
    again = two_trips(sessions, tenant_id, Hold("call", 60))
    assert again.reservation_id > first.reservation_id
    assert [row[8] for row in held_rows(sessions, tenant_id)] == ["released", "open"]
