"""Each simulator posts its callback again when Malipo does not take it, as operators do.

Retryable: no answer (refused connection, timeout), a 5xx, or the operator's own failure
acknowledgement (M-Pesa `output_ResponseCode` != "0", Tigo `ResponseStatus: false`).
Final: a 4xx refusal. Bounded by the courier's `Redelivery` policy, off the request thread.
"""

from __future__ import annotations

import socket
import time

import pytest

from providers.base import ProviderStatus
from providers.sandbox.delivery import Courier, Redelivery, Verdict
from tests.integration.providers_sandbox.conftest import Refusal
from tests.polling import eventually

S = ProviderStatus
FAST = Redelivery(attempts=4, first_wait_s=0.05, factor=1.0, read_timeout_s=0.3)
SETTLE_S = 0.6  # several retry waits: long enough to see that no further post is coming
# Operators with a failure ack of their own; Airtel and Selcom document none.
FAILURE_ACKS = {"mpesa", "tigopesa"}


def _pending(rig, ending: str = "5678"):
    collection, result = rig.initiate(ending)
    assert (result.status, result.ambiguous) == (S.PENDING, False), result
    return collection


def test_a_503_is_redelivered_until_malipo_takes_it(rig, courier_policy):
    courier_policy(rig, FAST)
    collection = rig.request("5678")
    rig.receiver.refuse(collection.reference, Refusal(times=2, status=503))
    rig.adapter.initiate_collection(collection)
    deliveries = rig.receiver.wait_for(collection.reference, count=3)
    assert len(rig.receiver.quiet_for(collection.reference, SETTLE_S)) == 3  # then it stops
    events = [rig.parse(delivery) for delivery in deliveries]
    assert {event.status for event in events} == {S.SUCCEEDED}
    assert len({event.dedupe_key for event in events}) == 1  # one fact, posted three times


@pytest.mark.parametrize("code", ["mpesa", "tigopesa", "airtelmoney", "halopesa"])
def test_the_operators_own_failure_ack_is_retried_where_it_has_one(rigs, courier_policy, code):
    rig = rigs[code]
    courier_policy(rig, FAST)
    collection = rig.request("5678")
    rig.receiver.refuse(collection.reference, Refusal(times=1, failure_ack=True))
    rig.adapter.initiate_collection(collection)
    expected = 2 if code in FAILURE_ACKS else 1
    rig.receiver.wait_for(collection.reference, count=expected)
    assert len(rig.receiver.quiet_for(collection.reference, SETTLE_S)) == expected


def test_no_answer_in_time_is_redelivered(rig, courier_policy):
    courier_policy(rig, FAST)
    collection = rig.request("5678")
    rig.receiver.refuse(collection.reference, Refusal(times=1, stall_s=0.6))
    rig.adapter.initiate_collection(collection)
    rig.receiver.wait_for(collection.reference, count=2)


def test_a_4xx_refusal_is_never_redelivered(rig, courier_policy):
    courier_policy(rig, FAST)
    collection = rig.request("5678")
    rig.receiver.refuse(collection.reference, Refusal(times=1, status=400))
    rig.adapter.initiate_collection(collection)
    rig.receiver.wait_for(collection.reference)
    assert len(rig.receiver.quiet_for(collection.reference, SETTLE_S)) == 1


def test_redelivery_is_bounded(rig, courier_policy):
    courier_policy(rig, FAST)
    collection = rig.request("5678")
    rig.receiver.refuse(collection.reference, Refusal(times=99, status=500))
    rig.adapter.initiate_collection(collection)
    rig.receiver.wait_for(collection.reference, count=FAST.attempts)
    assert len(rig.receiver.quiet_for(collection.reference, SETTLE_S)) == FAST.attempts


def test_retries_wait_off_the_request_thread(rig, courier_policy):
    """The early callback is posted inside the initiate; its retry must not hold it."""
    courier_policy(rig, Redelivery(attempts=2, first_wait_s=2.5))
    collection = rig.request("0006")
    rig.receiver.refuse(collection.reference, Refusal(times=1, status=503))
    started = time.monotonic()
    result = rig.adapter.initiate_collection(collection)
    assert time.monotonic() - started < 2.0  # the retry's 2.5 s wait was not spent here
    assert result.status == S.PENDING
    assert len(rig.receiver.about(collection.reference)) == 1  # refused, retry still waiting
    [_, accepted] = rig.receiver.wait_for(collection.reference, count=2, timeout_s=6.0)
    assert rig.parse(accepted).status == S.SUCCEEDED


def test_a_refused_connection_is_retried_then_given_up():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    courier = Courier(policy=Redelivery(attempts=3, first_wait_s=0.01))
    courier.deliver(f"http://127.0.0.1:{port}/v1/callbacks/mpesa", lambda: (b"{}", {}))
    eventually(lambda: len(courier.history) >= 3, timeout_s=3, every_s=0.02)
    time.sleep(0.1)  # on purpose: time for a fourth attempt, which must not come
    assert [(a.status, a.verdict) for a in courier.history] == [(None, Verdict.RETRY)] * 3
