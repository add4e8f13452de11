"""M-Pesa over real HTTP: RSA bearer tokens, exact requests, timeouts as ambiguous."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import padding

from providers.base import CollectionRequest, RefundRequest, StatusQuery
from providers.mpesa.adapter import build

ROOT = "/sandbox/ipg/v2/vodacomTZN/"
SESSION = {"output_ResponseCode": "INS-0", "output_SessionID": "SESSION42"}


def decrypt_bearer(private_key, header: str) -> str:
    scheme, token = header.split(" ", 1)
    assert scheme == "Bearer"
    return private_key.decrypt(base64.b64decode(token), padding.PKCS1v15()).decode()


@pytest.fixture
def make_adapter(fake_provider, public_key_b64):
    def make(**extra):
        fake_provider.route("GET", ROOT + "getSession/", 201, SESSION)
        settings = {
            "base_url": fake_provider.url + ROOT,
            "api_key": "API-KEY-1",
            "public_key": public_key_b64,
            "service_provider_code": "000000",
            "read_timeout_s": 0.5,
        }
        return build("mpesa", settings | extra)

    return make


def collection(**overrides) -> CollectionRequest:
    fields = {
        "topup_id": "tp_1",
        "reference": "TP0001",
        "msisdn": "0754 123 456",
        "amount_minor": 150_000,
        "currency": "TZS",
        "description": "Malipo top-up",
        "callback_url": "https://malipo.example/v1/callbacks/mpesa",
    }
    return CollectionRequest(**(fields | overrides))


def test_session_then_c2b_request_is_built_exactly(make_adapter, fake_provider, rsa_private_key):
    fake_provider.route(
        "POST",
        ROOT + "c2bPayment/singleStage/",
        201,
        {
            "output_ResponseCode": "INS-0",
            "output_ResponseDesc": "Request processed successfully",
            "output_ConversationID": "conv-9",
            "output_ThirdPartyConversationID": "TP0001",
        },
    )
    result = make_adapter().initiate_collection(collection())

    session_call = fake_provider.calls(ROOT + "getSession/")[0]
    assert decrypt_bearer(rsa_private_key, session_call.headers["Authorization"]) == "API-KEY-1"
    assert session_call.headers["Origin"] == "*"
    call = fake_provider.calls(ROOT + "c2bPayment/singleStage/")[0]
    assert decrypt_bearer(rsa_private_key, call.headers["Authorization"]) == "SESSION42"
    assert call.headers["Origin"] == "*"
    assert call.json() == {
        "input_Amount": "1500",
        "input_Country": "TZN",
        "input_Currency": "TZS",
        "input_CustomerMSISDN": "255754123456",
        "input_ServiceProviderCode": "000000",
        "input_ThirdPartyConversationID": "TP0001",
        "input_TransactionReference": "TP0001",
        "input_PurchasedItemsDesc": "Malipo top-up",
    }
    assert (result.status, result.ambiguous, result.provider_ref) == ("pending", False, "conv-9")


def test_session_is_reused(make_adapter, fake_provider):
    fake_provider.route(
        "POST", ROOT + "c2bPayment/singleStage/", 201, {"output_ResponseCode": "INS-0"}
    )
    adapter = make_adapter()
    adapter.initiate_collection(collection())
    adapter.initiate_collection(collection(reference="TP0002"))
    assert len(fake_provider.calls(ROOT + "getSession/")) == 1


def test_sync_mode_ins0_is_success_with_receipt(make_adapter, fake_provider):
    fake_provider.route(
        "POST",
        ROOT + "c2bPayment/singleStage/",
        201,
        {
            "output_ResponseCode": "INS-0",
            "output_TransactionID": "8HJ21KX",
            "output_ConversationID": "conv-9",
        },
    )
    result = make_adapter(mode="sync").initiate_collection(collection())
    assert (result.status, result.provider_txn_id) == ("succeeded", "8HJ21KX")


def test_duplicate_409_is_ambiguous_not_failed(make_adapter, fake_provider):
    fake_provider.route(
        "POST",
        ROOT + "c2bPayment/singleStage/",
        409,
        {"output_ResponseCode": "INS-10", "output_TransactionID": "N/A"},
    )
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.ambiguous, result.provider_txn_id) == ("pending", True, None)


def test_insufficient_balance_fails(make_adapter, fake_provider):
    fake_provider.route(
        "POST", ROOT + "c2bPayment/singleStage/", 422, {"output_ResponseCode": "INS-2006"}
    )
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.reason_code) == ("failed", "INS-2006")


def test_timeout_after_sending_is_ambiguous(make_adapter, fake_provider):
    fake_provider.route(
        "POST", ROOT + "c2bPayment/singleStage/", 201, {"output_ResponseCode": "INS-0"}, delay_s=1.5
    )
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.ambiguous, result.reason_code) == ("pending", True, "no_answer")


def test_5xx_without_a_code_is_ambiguous(make_adapter, fake_provider):
    fake_provider.route("POST", ROOT + "c2bPayment/singleStage/", 503, b"busy")
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.ambiguous) == ("pending", True)


def test_unreachable_provider_is_a_clean_retryable_failure(public_key_b64, refused_url):
    adapter = build(
        "mpesa",
        {
            "base_url": refused_url + ROOT,
            "api_key": "k",
            "public_key": public_key_b64,
            "service_provider_code": "000000",
        },
    )
    result = adapter.initiate_collection(collection())
    assert (result.status, result.retryable, result.ambiguous) == ("failed", True, False)


@pytest.mark.parametrize(
    ("changes", "says"),
    [({"amount_minor": 150_050}, "whole number of shillings"), ({"currency": "USD"}, "TZS only")],
)
def test_bad_input_is_a_final_failure_before_sending(make_adapter, fake_provider, changes, says):
    """Never an exception (a job would leave the push `sending`), never retryable."""
    result = make_adapter().initiate_collection(collection(**changes))
    assert (result.status, result.retryable, result.ambiguous) == ("failed", False, False)
    assert result.reason_code == "invalid_request" and says in result.reason
    assert fake_provider.seen == []


@pytest.mark.parametrize(
    ("value", "status"),
    [("Completed", "succeeded"), ("Cancelled", "cancelled"), ("Expired", "expired")],
)
def test_query_status(make_adapter, fake_provider, value, status):
    fake_provider.route(
        "GET",
        ROOT + "queryTransactionStatus/",
        200,
        {"output_ResponseCode": "INS-0", "output_ResponseTransactionStatus": value},
    )
    result = make_adapter().query_status(
        StatusQuery(our_reference="TP0001", provider_ref="conv-9", provider_txn_id=None)
    )
    call = fake_provider.calls(ROOT + "queryTransactionStatus/")[0]
    assert call.query["input_QueryReference"] == "conv-9"
    assert call.query["input_ServiceProviderCode"] == "000000"
    assert call.query["input_Country"] == "TZN"
    assert call.query["input_ThirdPartyConversationID"].startswith("TP0001")
    assert len(call.query["input_ThirdPartyConversationID"]) <= 40
    assert result.status == status


def test_failed_query_says_nothing_about_the_payment(make_adapter, fake_provider):
    fake_provider.route(
        "GET", ROOT + "queryTransactionStatus/", 400, {"output_ResponseCode": "INS-6"}
    )
    result = make_adapter().query_status(StatusQuery(our_reference="TP0001"))
    assert (result.status, result.ambiguous) == ("pending", True)


def test_query_timeout_is_pending(make_adapter, fake_provider):
    fake_provider.route("GET", ROOT + "queryTransactionStatus/", 200, {}, delay_s=1.5)
    result = make_adapter().query_status(StatusQuery(our_reference="TP0001"))
    assert (result.status, result.ambiguous) == ("pending", True)


def test_reversal_request_and_result(make_adapter, fake_provider):
    fake_provider.route(
        "PUT",
        ROOT + "reversal/",
        200,
        {"output_ResponseCode": "INS-0", "output_TransactionID": "REV1"},
    )
    result = make_adapter().refund(
        RefundRequest(
            refund_reference="RF0001",
            provider_txn_id="8HJ21KX",
            original_reference="TP0001",
            amount_minor=150_000,
            original_amount_minor=150_000,
            currency="TZS",
            msisdn="255754123456",
            reason="duplicate",
        )
    )
    assert fake_provider.calls(ROOT + "reversal/")[0].json() == {
        "input_ReversalAmount": "1500",
        "input_Country": "TZN",
        "input_ServiceProviderCode": "000000",
        "input_ThirdPartyConversationID": "RF0001",
        "input_TransactionID": "8HJ21KX",
    }
    assert (result.status, result.provider_txn_id) == ("reversed", "REV1")
