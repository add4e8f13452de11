"""The MSISDN test endings of API.md, through each real adapter and its simulator.

Every test runs for M-Pesa, Tigo Pesa, Airtel Money and Selcom (as HaloPesa): initiate
over HTTP, wait for the callback the simulator posts, and read it with the adapter's own
`parse_callback`, exactly as Malipo's callback endpoint will.
"""

from __future__ import annotations

import pytest

from providers.base import ProviderStatus, StatusQuery, UnsupportedOperation

S = ProviderStatus

# Operators whose callback carries the amount (M-Pesa's and Airtel's carry none).
CARRIES_AMOUNT = {"tigopesa", "halopesa"}
# What "payer cancels / wrong PIN" maps to: Airtel's callback says only TF (failed).
PAYER_CANCELS = {"mpesa": S.CANCELLED, "tigopesa": S.CANCELLED, "airtelmoney": S.FAILED}
# What a status query says after an initiate timed out: the push never reached the payer.
AFTER_TIMEOUT = {"mpesa": S.EXPIRED, "airtelmoney": S.EXPIRED, "halopesa": S.FAILED}
QUIET_S = 0.3  # six payer delays: long enough to be sure no callback is coming


def _accepted(rig, ending: str):
    collection, result = rig.initiate(ending)
    assert (result.status, result.ambiguous) == (S.PENDING, False), result
    return collection


def _only_event(rig, reference: str):
    [delivery] = rig.receiver.wait_for(reference)
    event = rig.parse(delivery)
    assert event.our_reference == reference
    return event


def test_default_number_pays_and_calls_back(rig):
    collection = _accepted(rig, "5678")
    event = _only_event(rig, collection.reference)
    assert event.status == S.SUCCEEDED
    assert event.provider_txn_id
    if rig.code in CARRIES_AMOUNT:
        assert (event.amount_minor, event.currency) == (rig.amount_minor, "TZS")


def test_0001_insufficient_funds(rig):
    collection = _accepted(rig, "0001")
    event = _only_event(rig, collection.reference)
    assert event.status == S.FAILED
    assert "nsufficient" in (event.reason or "")


def test_0002_payer_cancels(rig):
    collection = _accepted(rig, "0002")
    event = _only_event(rig, collection.reference)
    assert event.status == PAYER_CANCELS.get(rig.code, S.CANCELLED)
    if rig.code != "halopesa":  # Selcom's reference names the push, paid or not
        assert event.provider_txn_id is None  # no money moved, so no receipt


def test_0003_paid_without_callback_found_by_query(rig):
    collection, result = rig.initiate("0003")
    assert rig.receiver.quiet_for(collection.reference, QUIET_S) == []
    query = StatusQuery(our_reference=collection.reference, provider_ref=result.provider_ref)
    if not rig.adapter.capabilities.supports_status_query:
        with pytest.raises(UnsupportedOperation):
            rig.adapter.query_status(query)
        assert rig.paid_shillings(collection, result) * 100 == rig.amount_minor
        return
    found = rig.adapter.query_status(query)
    assert found.status == S.SUCCEEDED, found
    assert found.provider_txn_id


@pytest.mark.parametrize("code", ["mpesa", "airtelmoney", "halopesa"])  # Tigo has no query
def test_0003_query_before_the_payer_answers_is_pending(slow_rig, code):
    rig = slow_rig(code)
    collection, result = rig.initiate("0003")
    query = StatusQuery(our_reference=collection.reference, provider_ref=result.provider_ref)
    assert rig.adapter.query_status(query).status == S.PENDING


def test_0004_callback_delivered_five_times_as_one_fact(rig):
    collection = _accepted(rig, "0004")
    deliveries = rig.receiver.wait_for(collection.reference, count=5)
    events = [rig.parse(delivery) for delivery in deliveries]
    assert len(events) == 5
    assert {event.dedupe_key for event in events} == {events[0].dedupe_key}
    assert {event.status for event in events} == {S.SUCCEEDED}


def test_0005_callback_reports_another_amount(rig):
    collection, result = rig.initiate("0005")
    event = _only_event(rig, collection.reference)
    assert event.status == S.SUCCEEDED
    assert rig.paid_shillings(collection, result) * 100 == rig.amount_minor // 2
    if rig.code in CARRIES_AMOUNT:
        assert event.amount_minor == rig.amount_minor // 2
    else:
        assert event.amount_minor is None  # the operator's callback has no amount field


def test_0006_callback_arrives_before_initiate_returns(rig):
    collection, result = rig.initiate("0006")
    arrived = rig.receiver.about(collection.reference)  # no waiting: already here or not
    assert len(arrived) == 1
    assert result.status == S.PENDING
    assert rig.parse(arrived[0]).status == S.SUCCEEDED


def test_0007_initiate_is_ambiguous(rig):
    collection, result = rig.initiate("0007")
    assert (result.status, result.ambiguous, result.retryable) == (S.PENDING, True, False)
    assert rig.receiver.quiet_for(collection.reference, QUIET_S) == []
    if rig.adapter.capabilities.supports_status_query:
        query = StatusQuery(our_reference=collection.reference, provider_ref=result.provider_ref)
        assert rig.adapter.query_status(query).status == AFTER_TIMEOUT[rig.code]
