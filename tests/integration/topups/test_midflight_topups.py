"""Issue 13 finding 11, top-ups: no push is left `sending`, no retryable answer fails one,
and a USD wallet is told at once that mobile money collects shillings."""

from __future__ import annotations

import threading

import pytest
import requests

from billing.core.money import Currency
from billing.topups.jobs import sweep
from billing.topups.models import Initiation, Topup
from billing.topups.sweeps import RESEND_AFTER_S
from providers.base import not_sent
from tests.integration.topups.conftest import get
from tests.integration.topups.midflight import age, held, raises, row, stubbed
from tests.integration.topups.test_topups import payer, settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def test_a_usd_top_up_by_mobile_money_is_refused_naming_currency(live, make_tenant):
    usd = make_tenant(Currency.USD)
    response = requests.post(
        f"{live.url}/v1/topups",
        json={"amount": 50_00, "currency": "USD", "msisdn": payer("mpesa"), "provider": "mpesa"},
        headers=usd.headers,
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "TZS only" in response.json()["errors"]["currency"][0]
    assert get(live, "/v1/topups", usd)["items"] == []


def test_an_initiate_that_raises_gets_status_checks_not_left_sending(live, tenant):
    with stubbed(live, "mpesa", initiate_collection=raises(RuntimeError("adapter bug"))):
        created = top_up(live, tenant, "mpesa")
    topup = row(live, Topup, created["id"])
    assert topup.initiation is Initiation.UNKNOWN  # the fault landed; it is not `sending`
    assert topup.next_check_at is not None
    assert topup.status.value == "pending"


def test_a_push_whose_worker_died_inside_initiate_is_checked_and_credited(live, tenant):
    """The worker dies after the push left (the payer pays, no callback ever comes)."""

    def real_push(stub, request):
        return stub.real.initiate_collection(request)

    with stubbed(live, "mpesa", initiate_collection=held(real_push)) as stub:
        asked = threading.Thread(target=top_up, args=(live, tenant, "mpesa", "0003"))
        asked.start()
        assert stub.inside.wait(10), "the job never reached the provider call"
        (created,) = get(live, "/v1/topups", tenant)["items"]
        assert row(live, Topup, created["id"]).initiation is Initiation.SENDING
        age(live, Topup, created["id"], due=False)
        with live.app.app_context():
            sweep()  # the push is `unknown` now and its first status check is due
            assert row(live, Topup, created["id"]).initiation is Initiation.UNKNOWN

            def checked_until_paid() -> bool:  # the payer may not have paid at the first check
                if row(live, Topup, created["id"]).status.value == "pending":
                    age(live, Topup, created["id"])
                    sweep()
                return row(live, Topup, created["id"]).status.value != "pending"

            done = eventually(checked_until_paid, every_s=0.2)
        stub.release.set()
        asked.join(10)
    topup = row(live, Topup, created["id"])
    assert (topup.status.value, topup.initiation) == ("succeeded", Initiation.UNKNOWN), done
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00


def test_a_retryable_answer_keeps_the_push_unsent_and_sends_it_again(live, tenant):
    refused = not_sent("mpesa", "not_sent", "connection refused")
    with stubbed(live, "mpesa", initiate_collection=lambda stub, request: refused):
        created = top_up(live, tenant, "mpesa")
        topup = row(live, Topup, created["id"])
        assert (topup.status.value, topup.initiation) == ("pending", Initiation.NOT_SENT)
        assert topup.initiate_attempts == 1 and topup.next_check_at is not None
    age(live, Topup, created["id"])  # the backoff has passed; the provider is back
    with live.app.app_context():
        sweep()
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    assert row(live, Topup, created["id"]).initiation is Initiation.SENT


def test_a_push_that_never_gets_through_fails_after_bounded_retries(live, tenant):
    refused = not_sent("mpesa", "not_sent", "connection refused")
    with stubbed(live, "mpesa", initiate_collection=lambda stub, request: refused):
        created = top_up(live, tenant, "mpesa")
        with live.app.app_context():
            for _ in RESEND_AFTER_S:
                assert row(live, Topup, created["id"]).status.value == "pending"
                age(live, Topup, created["id"])
                sweep()
    topup = row(live, Topup, created["id"])
    assert (topup.status.value, topup.initiate_attempts) == ("failed", len(RESEND_AFTER_S) + 1)
    assert topup.failure_reason == "connection refused"
