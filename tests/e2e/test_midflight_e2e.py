"""Issue 13 finding 11 through `billing serve` and real workers: a worker SIGKILLed
inside the provider call leaves a refund or a push `sending`; the next worker's sweep
settles it (a status query) or hands it to a person, and never sends it twice."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from billing.topups.models import Initiation, Refund, ReviewItem, Topup
from tests.e2e.conftest import kill_worker, start_worker
from tests.e2e.holding_proxy import Hold, holding_proxy
from tests.polling import eventually

pytestmark = pytest.mark.e2e


def _topup(live_url: str, tenant, provider: str, msisdn: str) -> str:
    response = requests.post(
        f"{live_url}/v1/topups",
        json={"amount": 5_000_00, "currency": "TZS", "msisdn": msisdn, "provider": provider},
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _one(sessions, model, **where):
    with sessions() as session:
        found = session.scalars(select(model).filter_by(**where)).all()
        session.expunge_all()
        return found


def _balance(live_url: str, tenant) -> int:
    return requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10).json()[
        "balance"
    ]


def test_a_refund_whose_worker_was_killed_inside_the_call_goes_to_a_person(
    live_url, service_env, make_tenant, admin, sessions, tmp_path
):
    tenant = make_tenant()
    hold = Hold("/sandbox/tigopesa/reverse")
    log = tmp_path / "worker.log"
    with holding_proxy(live_url, hold) as proxy:
        env = {**service_env, "MALIPO_PUBLIC_URL": proxy}
        worker = start_worker(env, log)
        try:
            topup_id = _topup(live_url, tenant, "tigopesa", "0714 555 999")
            assert eventually(lambda: _balance(live_url, tenant) == 5_000_00, timeout_s=30)
            asked = requests.post(
                f"{live_url}/v1/topups/{topup_id}/refund",
                json={"reason": "sent to the wrong wallet"},
                headers=admin.headers,
                timeout=30,
            )
            assert asked.status_code == 202, asked.text
            assert hold.inside.wait(30), "the worker never reached the refund call"
            (refund,) = _one(sessions, Refund, topup_id=topup_id)
            assert refund.status.value == "sending"  # the known point
            kill_worker(worker)
            worker = start_worker(env, log)  # its sweep finds the refund left sending
            stuck = eventually(
                lambda: _one(sessions, ReviewItem, kind="refund_stuck", topup_id=topup_id),
                timeout_s=40,
            )
            assert stuck, log.read_text()[-3000:]
        finally:
            kill_worker(worker)
    (refund,) = _one(sessions, Refund, topup_id=topup_id)
    assert refund.status.value == "unknown"
    assert hold.seen == 1  # sent once: never re-sent blind
    assert _balance(live_url, tenant) == 0  # still debited: the operator did reverse it


def test_a_push_whose_worker_was_killed_inside_initiate_is_credited_by_status_query(
    live_url, service_env, make_tenant, sessions, tmp_path
):
    tenant = make_tenant()
    hold = Hold("/sandbox/mpesa/c2bPayment")
    log = tmp_path / "worker.log"
    with holding_proxy(live_url, hold) as proxy:
        env = {**service_env, "MALIPO_PUBLIC_URL": proxy}
        worker = start_worker(env, log)
        try:
            # paid, but the operator never sends the callback: only a status query tells
            topup_id = _topup(live_url, tenant, "mpesa", "0754 55 0003")
            assert hold.inside.wait(30), "the worker never reached the push"
            (topup,) = _one(sessions, Topup, id=topup_id)
            assert topup.initiation is Initiation.SENDING  # the known point
            kill_worker(worker)
            worker = start_worker(env, log)
            credited = eventually(lambda: _balance(live_url, tenant) == 5_000_00, timeout_s=40)
            assert credited, log.read_text()[-3000:]
        finally:
            kill_worker(worker)
    (topup,) = _one(sessions, Topup, id=topup_id)
    assert (topup.status.value, topup.initiation) == ("succeeded", Initiation.UNKNOWN)
    assert hold.seen == 1
