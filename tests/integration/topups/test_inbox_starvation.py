"""Issue 15, poison starvation: a hundred callbacks that can never be applied do not
stop the sweep from applying another tenant's genuine one; they back off and are
parked as `needs_review` with their reason."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from billing.core.clock import utcnow
from billing.topups.jobs import sweep
from billing.topups.models import CallbackDelivery, InboxStatus, ReviewItem, Topup
from billing.topups.sweeps import BATCH, CALLBACK_ATTEMPTS
from tests.integration.topups.conftest import get
from tests.integration.topups.midflight import row
from tests.integration.topups.test_topups import top_up

pytestmark = pytest.mark.integration
_inbox = CallbackDelivery.__table__


def _store(live, event: dict, received_ago: timedelta, count: int = 1) -> list[int]:
    at = utcnow() - received_ago
    rows = [
        {
            "provider": "selcom",  # the inbox keeps the family: Selcom carries HaloPesa
            "dedupe_key": f"test:{os.urandom(8).hex()}",
            "status": InboxStatus.RECEIVED,
            "headers": {},
            "body": b"{}",
            "event": event,
            "received_at": at,
            "deliveries": 1,
        }
        for _ in range(count)
    ]
    with live.runtime.sessions.begin() as session:
        return list(session.execute(insert(_inbox).returning(_inbox.c.id), rows).scalars())


def poison(live, count: int, received_ago: timedelta = timedelta(days=2)) -> list[int]:
    """Callbacks whose stored event no reconcile can read (a status nobody knows)."""
    return _store(live, {"status": "bogus", "our_reference": "T0"}, received_ago, count)


def test_poisoned_callbacks_do_not_starve_another_tenants(live, tenant):
    poisoned = poison(live, BATCH + 20)
    # Tenant B paid; its callback was stored but its job was lost (the sweep's work).
    created = top_up(live, tenant, "halopesa", "0003")
    topup = row(live, Topup, created["id"])
    event = {
        "status": "succeeded",
        "proof": "signature",  # as a signed Selcom webhook is recorded
        "our_reference": topup.reference,
        "amount_minor": topup.amount_minor,
        "currency": "TZS",
        "provider_ref": topup.provider_ref,
        "provider_txn_id": f"HP{os.urandom(4).hex().upper()}",
    }
    (genuine,) = _store(live, event, timedelta(days=1))
    with live.app.app_context():
        for _ in range(3):
            sweep()
    assert row(live, CallbackDelivery, genuine).status is InboxStatus.APPLIED
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00
    with live.runtime.sessions() as session:
        tried = session.execute(
            select(_inbox.c.status, _inbox.c.attempts, _inbox.c.error).where(
                _inbox.c.id.in_(poisoned)
            )
        ).all()
    assert {r.status for r in tried} == {InboxStatus.RECEIVED}  # backing off, not applied
    assert all(r.attempts >= 1 and "bogus" in r.error for r in tried)


def test_a_callback_that_keeps_failing_is_parked_with_its_reason(live):
    (bad,) = poison(live, 1, received_ago=timedelta(days=3))  # first in line
    with live.app.app_context():
        for _ in range(CALLBACK_ATTEMPTS):
            assert row(live, CallbackDelivery, bad).status is InboxStatus.RECEIVED
            with live.runtime.sessions.begin() as session:  # its backoff has passed
                session.execute(
                    update(_inbox).where(_inbox.c.id == bad).values(next_attempt_at=None)
                )
            sweep()
    parked = row(live, CallbackDelivery, bad)
    assert (parked.status, parked.attempts) == (InboxStatus.NEEDS_REVIEW, CALLBACK_ATTEMPTS)
    assert "bogus" in parked.error
    with live.runtime.sessions() as session:
        (item,) = session.scalars(select(ReviewItem).filter_by(inbox_id=bad)).all()
    assert item.kind == "callback_stuck" and item.detail["attempts"] == CALLBACK_ATTEMPTS
