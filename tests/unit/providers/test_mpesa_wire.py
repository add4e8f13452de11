"""M-Pesa: every INS- code and query status mapped; callbacks parsed and acknowledged."""

from __future__ import annotations

import json

import pytest

from providers.allowlist import SourceAllowList
from providers.base import InvalidCallback
from providers.mpesa import callbacks, wire

P, OK, F, C, E = "pending", "succeeded", "failed", "cancelled", "expired"

# providers.md §1: code -> (status, ambiguous)
EXPECTED_CODES = {
    "INS-1": (P, True),
    "INS-5": (C, False),
    "INS-6": (F, False),
    "INS-9": (P, True),
    "INS-10": (P, True),
    "INS-13": (F, False),
    "INS-15": (F, False),
    "INS-16": (P, True),
    "INS-17": (F, False),
    "INS-20": (F, False),
    "INS-21": (F, False),
    **{f"INS-{n}": (F, False) for n in range(990, 999)},
    "INS-2006": (F, False),
    "INS-2051": (F, False),
}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_CODES.items()))
@pytest.mark.parametrize("sync", [True, False])
def test_every_response_code_is_mapped(code, expected, sync):
    mapped = wire.map_response_code(code, sync=sync)
    assert (mapped.status, mapped.ambiguous, mapped.unknown_status) == (*expected, False)


def test_the_table_has_nothing_the_test_does_not_know():
    assert set(wire.RESPONSE_CODES) == set(EXPECTED_CODES)


def test_ins0_means_paid_in_sync_mode_and_accepted_in_async_mode():
    assert wire.map_response_code("INS-0", sync=True).status == OK
    assert wire.map_response_code("INS-0", sync=False).status == P


@pytest.mark.parametrize(
    ("value", "status", "ambiguous"),
    [("Completed", OK, False), ("Cancelled", C, False), ("Expired", E, False), ("N/A", P, True)],
)
def test_every_query_status_is_mapped(value, status, ambiguous):
    mapped = wire.map_query_status(value)
    assert (mapped.status, mapped.ambiguous, mapped.unknown_status) == (status, ambiguous, False)


@pytest.mark.parametrize("raw", ["INS-4242", "", "Completed ", "SUCCESS"])
def test_unknown_codes_are_pending_and_flagged_never_success(raw):
    for mapped in (
        wire.map_response_code(raw, sync=True),
        wire.map_query_status(raw),
        wire.map_reversal_code(raw),
    ):
        assert mapped.status == P
        assert mapped.unknown_status


def test_reversal_ok_is_reversed():
    assert wire.map_reversal_code("INS-0").status == "reversed"
    assert wire.map_reversal_code("INS-2006").status == F


def callback_body(**overrides) -> bytes:
    body = {
        "input_OriginalConversationID": "conv-1",
        "input_TransactionID": "8HJ21KX",
        "input_ResultCode": "INS-0",
        "input_ResultDesc": "Request processed successfully",
        "input_ThirdPartyConversationID": "TP0001",
    }
    return json.dumps(body | overrides).encode()


def parse(raw: bytes, remote: str | None = "10.0.0.1", allow=None):
    return callbacks.parse_callback(
        raw, remote, provider="mpesa", allow=allow or SourceAllowList(None)
    )


def test_success_callback_parsed():
    event = parse(callback_body())
    assert event.status == OK
    assert event.provider_txn_id == "8HJ21KX"
    assert event.provider_ref == "conv-1"
    assert event.our_reference == "TP0001"
    assert event.dedupe_key == "mpesa:8HJ21KX:succeeded"
    assert event.received_at.tzinfo is not None


def test_repeated_callback_has_the_same_dedupe_key():
    assert parse(callback_body()).dedupe_key == parse(callback_body()).dedupe_key


@pytest.mark.parametrize(("code", "status"), [("INS-2006", F), ("INS-5", C), ("INS-9", P)])
def test_failed_callback_without_transaction_id(code, status):
    event = parse(callback_body(input_ResultCode=code, input_TransactionID="N/A"))
    assert event.status == status
    assert event.provider_txn_id is None
    assert event.dedupe_key.startswith("mpesa:ref:TP0001")


def test_unknown_callback_code_is_pending_and_flagged():
    event = parse(callback_body(input_ResultCode="INS-777"))
    assert (event.status, event.unknown_status) == (P, True)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        callback_body(input_ThirdPartyConversationID=""),
        json.dumps({"input_ResultCode": "INS-0"}).encode(),
    ],
)
def test_malformed_callbacks_are_rejected(raw):
    with pytest.raises(InvalidCallback):
        parse(raw)


def test_callback_from_outside_the_allow_list_is_rejected():
    allow = SourceAllowList(["196.201.0.0/16"])
    assert parse(callback_body(), "196.201.3.4", allow).status == OK
    with pytest.raises(InvalidCallback, match="allow-list"):
        parse(callback_body(), "203.0.113.9", allow)


def test_ack_echoes_both_conversation_ids():
    event = parse(callback_body())
    ack = callbacks.callback_ack(event, ok=True)
    assert ack.status_code == 200
    assert json.loads(ack.body) == {
        "output_OriginalConversationID": "conv-1",
        "output_ResponseCode": "0",
        "output_ResponseDesc": "Successfully Accepted Result",
        "output_ThirdPartyConversationID": "TP0001",
    }
    assert callbacks.callback_ack(None, ok=False).status_code == 503
