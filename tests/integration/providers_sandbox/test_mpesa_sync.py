"""M-Pesa's synchronous application, through the real adapter in `mode: sync`: the c2b
call is held until the payer answers and returns the result; no callback follows."""

from __future__ import annotations

import time

import pytest

from providers.base import ProviderStatus, StatusQuery
from providers.sandbox.mpesa_apps import SYNC_SETTINGS
from tests.integration.providers_sandbox.conftest import DELAY_S

S = ProviderStatus
QUIET_S = 0.3


@pytest.fixture
def sync_rig(rigs):
    rig = rigs["mpesa"]
    return rig, rig.build(**SYNC_SETTINGS)


def test_a_sync_c2b_blocks_until_paid_and_returns_the_transaction_id(sync_rig):
    rig, adapter = sync_rig
    collection = rig.request("5678")
    started = time.monotonic()
    result = adapter.initiate_collection(collection)
    assert time.monotonic() - started >= DELAY_S  # held while the payer answers
    assert (result.status, result.reason_code) == (S.SUCCEEDED, "INS-0"), result
    payment = rig.simulator.payer.book.find(collection.reference)
    assert result.provider_txn_id == payment.receipt
    assert result.provider_ref == payment.key
    assert rig.receiver.quiet_for(collection.reference, QUIET_S) == []  # no callback
    query = StatusQuery(our_reference=collection.reference, provider_txn_id=payment.receipt)
    assert adapter.query_status(query).status == S.SUCCEEDED


@pytest.mark.parametrize(
    ("ending", "status", "code", "ambiguous"),
    [
        ("0001", S.FAILED, "INS-2006", False),
        ("0002", S.CANCELLED, "INS-5", False),
        ("0007", S.PENDING, "INS-9", True),
    ],
    ids=["no-funds", "cancel", "timeout"],
)
def test_a_sync_c2b_returns_the_payers_refusal(sync_rig, ending, status, code, ambiguous):
    rig, adapter = sync_rig
    collection = rig.request(ending)
    result = adapter.initiate_collection(collection)
    assert (result.status, result.reason_code, result.ambiguous) == (status, code, ambiguous)
    assert result.provider_txn_id is None
    assert rig.receiver.quiet_for(collection.reference, QUIET_S) == []


def test_the_async_application_is_unchanged_on_the_same_simulator(sync_rig):
    rig, _ = sync_rig
    collection, result = rig.initiate("5678")
    assert (result.status, result.provider_txn_id) == (S.PENDING, None)
    [delivery] = rig.receiver.wait_for(collection.reference)
    assert rig.parse(delivery).status == S.SUCCEEDED


def test_an_unknown_api_key_opens_no_session(rigs):
    rig = rigs["mpesa"]
    adapter = rig.build(api_key="not-a-sandbox-key", mode="sync")
    result = adapter.initiate_collection(rig.request("5678"))
    assert result.retryable and result.status == S.FAILED, result
