"""Balance adjustments: applied at once up to the threshold, maker-checker above it, the
maker refused, two checkers racing on PostgreSQL approving once, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from billing.audit.models import AuditEvent
from billing.auth.models import Role
from billing.balance_adjustments.models import BalanceAdjustment
from billing.balance_adjustments.service import expire_pending
from billing.core.clock import utcnow
from billing.ledger.balances import account_balance
from billing.ledger.models import Transaction
from billing.ledger.postings import WALLET
from tests.conftest import _staff
from tests.integration.disputes.support import assert_books_and_trail_sound

pytestmark = pytest.mark.integration
THRESHOLD = 100_000_00  # TZS, the default


def adjust(client, staff, tenant, amount, direction="credit", expected=201, **extra):
    body = {
        "tenant_id": tenant.tenant_id,
        "direction": direction,
        "amount": amount,
        "currency": "TZS",
        "reason_code": "service_outage",
        "note": "SMS outage 3 March",
        **extra,
    }
    response = client.post("/v1/adjustments", json=body, headers=staff.headers)
    assert response.status_code == expected, response.get_json()
    return response.get_json()


def wallet(sessions, tenant) -> int:
    with sessions() as session:
        return account_balance(session, tenant.tenant_id, WALLET, "TZS").balance_minor


def test_at_or_below_the_threshold_it_is_applied_at_once(client, admin, tenant, sessions):
    made = adjust(client, admin, tenant, THRESHOLD)
    assert made["status"] == "applied" and made["ledger_transaction_id"]
    assert made["checker_id"] is None and made["expires_at"] is None
    taken = adjust(client, admin, tenant, 40_000_00, direction="debit")
    assert taken["status"] == "applied"
    assert wallet(sessions, tenant) == THRESHOLD - 40_000_00
    adjust(client, admin, tenant, 90_000_00, direction="debit", expected=422)  # overdraft
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_above_it_a_second_staff_member_approves_and_the_maker_never_can(
    client, runtime, admin, finance, tenant, sessions
):
    made = adjust(client, admin, tenant, THRESHOLD + 1)
    assert made["status"] == "pending" and made["expires_at"]
    assert wallet(sessions, tenant) == 0
    path = f"/v1/adjustments/{made['id']}"
    mine = client.post(f"{path}/approve", json={}, headers=admin.headers)
    assert mine.status_code == 403, mine.get_json()
    assert "maker" in mine.get_json()["detail"]
    assert client.post(f"{path}/approve", json={}, headers=tenant.headers).status_code == 404
    done = client.post(
        f"{path}/approve", json={"note": "outage confirmed"}, headers=finance.headers
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "applied" and done.get_json()["checker_id"]
    assert wallet(sessions, tenant) == THRESHOLD + 1
    assert client.post(f"{path}/approve", json={}, headers=finance.headers).status_code == 409
    with sessions() as session:
        trail = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.role)
            .where(AuditEvent.subject_id == made["id"])
            .order_by(AuditEvent.id)
        ).all()
    assert [(t.action, t.role) for t in trail] == [
        ("adjustment.requested", "admin"),
        ("adjustment.applied", "finance"),
    ]
    assert trail[0].actor != trail[1].actor
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_the_schema_refuses_a_maker_checking_their_own(runtime, admin, tenant, client, sessions):
    from sqlalchemy.exc import IntegrityError

    made = adjust(client, admin, tenant, THRESHOLD + 5)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.execute(
            update(BalanceAdjustment)
            .where(BalanceAdjustment.id == made["id"])
            .values(checker_id=BalanceAdjustment.maker_id)
        )


def test_a_rejection_posts_nothing(client, admin, finance, tenant, sessions):
    made = adjust(client, admin, tenant, THRESHOLD * 2)
    path = f"/v1/adjustments/{made['id']}"
    assert client.post(f"{path}/reject", json={}, headers=finance.headers).status_code == 422
    done = client.post(
        f"{path}/reject", json={"note": "no outage that day"}, headers=finance.headers
    )
    assert done.get_json()["status"] == "rejected"
    assert client.post(f"{path}/approve", json={}, headers=finance.headers).status_code == 409
    assert wallet(sessions, tenant) == 0


def test_two_checkers_racing_approve_once(client, app, runtime, admin, tenant, sessions):
    made = adjust(client, admin, tenant, THRESHOLD * 3)
    checkers = [_staff(runtime, Role(role)) for role in ("admin", "finance", "admin", "finance")]
    start = threading.Barrier(len(checkers))
    answers: list[int] = []

    def approve(checker) -> None:
        own = app.test_client()
        start.wait()
        response = own.post(
            f"/v1/adjustments/{made['id']}/approve", json={}, headers=checker.headers
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=approve, args=(c,)) for c in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409, 409, 409]
    with sessions() as session:
        posted = session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.reference == made["id"])
        ).scalar_one()
    assert posted == 1
    assert wallet(sessions, tenant) == THRESHOLD * 3
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_pending_ones_expire(client, runtime, admin, finance, tenant, sessions):
    made = adjust(client, admin, tenant, THRESHOLD + 7)
    with sessions.begin() as session:
        session.execute(
            update(BalanceAdjustment)
            .where(BalanceAdjustment.id == made["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    late = client.post(f"/v1/adjustments/{made['id']}/approve", json={}, headers=finance.headers)
    assert late.status_code == 409 and "expired" in late.get_json()["detail"]
    with runtime.unit_of_work() as session:
        assert expire_pending(session) >= 1
    got = client.get(f"/v1/adjustments/{made['id']}", headers=finance.headers).get_json()
    assert got["status"] == "expired"
    assert wallet(sessions, tenant) == 0
    queue = client.get(
        "/v1/adjustments",
        query_string={"status": "pending", "tenant_id": tenant.tenant_id},
        headers=admin.headers,
    ).get_json()
    assert queue["items"] == []
    assert_books_and_trail_sound(sessions, tenant.tenant_id)


def test_only_an_admin_makes_one_and_tenants_see_none(client, finance, tenant):
    adjust(client, finance, tenant, 1_00, expected=403)
    adjust(client, tenant, tenant, 1_00, expected=403)
    assert client.get("/v1/adjustments", headers=tenant.headers).status_code == 403
