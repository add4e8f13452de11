"""Issue 13 findings 11 and "refunds use only verified ids": refunds as their own entity,
never left `sending`, several partial ones up to what was collected."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from billing.topups.jobs import sweep
from billing.topups.models import Refund, ReviewItem, Topup
from billing.topups.sweeps import REFUND_CHECKS
from providers.base import ProviderResult, ProviderStatus, unknown_outcome
from tests.integration.topups.conftest import get
from tests.integration.topups.midflight import age, held, raises, row, stubbed
from tests.integration.topups.test_refunds import refund, refunded
from tests.integration.topups.test_topups import settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def credited(live, tenant, provider: str = "mpesa") -> dict:
    created = top_up(live, tenant, provider)
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    return created


def refunds_of(live, topup_id: str) -> list[Refund]:
    with live.runtime.sessions() as session:
        found = session.scalars(select(Refund).where(Refund.topup_id == topup_id)).all()
        session.expunge_all()
        return sorted(found, key=lambda one: one.created_at)


def reviews(live, kind: str, topup_id: str) -> list[ReviewItem]:
    with live.runtime.sessions() as session:
        return session.scalars(select(ReviewItem).filter_by(kind=kind, topup_id=topup_id)).all()


def test_a_refund_whose_adapter_raises_is_not_left_sending(live, tenant, admin):
    created = credited(live, tenant)
    with stubbed(live, "mpesa", refund=raises(KeyError("output_TransactionID"))):
        assert refund(live, admin, created["id"]).status_code == 202
    (stuck,) = refunds_of(live, created["id"])
    assert stuck.status.value == "unknown"  # the fault landed: a person is asked
    assert len(reviews(live, "refund_unknown", created["id"])) == 1
    assert get(live, "/v1/wallet", tenant)["balance"] == 0  # still debited: never guessed


def _die_inside_refund(live, tenant, admin, provider: str = "mpesa", **stub_extra):
    """Refund through a stub that reaches the provider, then hangs (a dead worker)."""
    created = credited(live, tenant, provider)

    def real_refund(stub, request):
        return stub.real.refund(request)

    stub_cm = stubbed(live, provider, refund=held(real_refund), **stub_extra)
    stub = stub_cm.__enter__()
    asked = threading.Thread(target=refund, args=(live, admin, created["id"]))
    asked.start()
    assert stub.inside.wait(10), "the refund job never reached the provider call"
    (in_flight,) = refunds_of(live, created["id"])
    assert in_flight.status.value == "sending"
    age(live, Refund, in_flight.id, due=False)
    return created, in_flight, stub, stub_cm, asked


def test_a_refund_left_sending_is_settled_by_the_status_query(live, tenant, admin):
    reversed_ = ProviderResult(
        provider="mpesa", status=ProviderStatus.SUCCEEDED, provider_txn_id="RV123"
    )
    created, in_flight, stub, stub_cm, asked = _die_inside_refund(
        live, tenant, admin, query_status=lambda stub, query: reversed_
    )
    try:
        with live.app.app_context():
            sweep()
        settled_refund = row(live, Refund, in_flight.id)
        assert (settled_refund.status.value, settled_refund.provider_txn_id) == (
            "succeeded",
            "RV123",
        )
        assert row(live, Topup, created["id"]).status.value == "refunded"
    finally:
        stub.release.set()
        asked.join(10)
        stub_cm.__exit__(None, None, None)
    # the dead worker's late answer changes nothing
    assert row(live, Refund, in_flight.id).status.value == "succeeded"
    assert get(live, "/v1/wallet", tenant)["balance"] == 0


def test_a_refund_left_sending_without_a_status_query_goes_to_a_person(live, tenant, admin):
    created, in_flight, stub, stub_cm, asked = _die_inside_refund(live, tenant, admin)
    stub.without_status_query()
    try:
        with live.app.app_context():
            sweep()
        assert row(live, Refund, in_flight.id).status.value == "unknown"
        (item,) = reviews(live, "refund_stuck", created["id"])
        assert item.detail["refund_id"] == in_flight.id
    finally:
        stub.release.set()
        asked.join(10)
        stub_cm.__exit__(None, None, None)


def test_a_refund_without_a_verified_receipt_is_refused(live, tenant, admin):
    created = credited(live, tenant)
    table = Topup.__table__
    with live.runtime.sessions.begin() as session:
        session.execute(
            update(table).where(table.c.id == created["id"]).values(provider_txn_id=None)
        )
    response = refund(live, admin, created["id"])
    assert response.status_code == 409, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "no verified receipt" in response.json()["detail"]
    assert refunds_of(live, created["id"]) == []
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00


def test_several_partial_refunds_never_more_than_was_collected(live, tenant, admin):
    created = credited(live, tenant)
    for amount in (1_000_00, 1_500_00):
        assert refund(live, admin, created["id"], amount=amount).status_code == 202
        eventually(lambda: refunded(live, tenant, created["id"]))
    too_much = refund(live, admin, created["id"], amount=3_000_00)
    assert too_much.status_code == 422, too_much.text
    assert "at most 250000" in too_much.json()["errors"]["amount"][0]
    last = refund(live, admin, created["id"])  # the rest
    assert last.status_code == 202 and last.json()["refund_amount"] == 2_500_00
    done = refunded(live, tenant, created["id"])
    assert (done["status"], done["refund_status"]) == ("refunded", "succeeded")
    listed = get(live, f"/v1/topups/{created['id']}/refunds", tenant)
    assert [(r["amount"], r["status"]) for r in listed] == [
        (1_000_00, "succeeded"),
        (1_500_00, "succeeded"),
        (2_500_00, "succeeded"),
    ]
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
    assert refund(live, admin, created["id"], amount=100).status_code == 409


def test_a_refund_the_status_query_never_confirms_goes_to_a_person(live, tenant, admin):
    """An answer about a reference the operator may never have seen proves nothing:
    the refund is asked after, with backoff, and then handed over, never reversed."""
    unknown = unknown_outcome("mpesa", "N/A", "not (yet) known")
    created, in_flight, stub, stub_cm, asked = _die_inside_refund(
        live, tenant, admin, query_status=lambda stub, query: unknown
    )
    try:
        with live.app.app_context():
            for _ in range(REFUND_CHECKS):
                assert row(live, Refund, in_flight.id).status.value == "sending"
                age(live, Refund, in_flight.id)
                sweep()
        assert row(live, Refund, in_flight.id).status.value == "unknown"
        (item,) = reviews(live, "refund_stuck", created["id"])
        assert item.detail["why"] == f"{REFUND_CHECKS} status queries; the last said pending"
    finally:
        stub.release.set()
        asked.join(10)
        stub_cm.__exit__(None, None, None)
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
