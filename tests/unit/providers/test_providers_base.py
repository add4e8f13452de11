"""The common interface: registry, requests' validation, money conversion, dedupe keys."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.amounts import optional_minor, shillings_to_minor, to_whole_shillings
from providers.base import (
    REGISTRY,
    TERMINAL,
    CollectionRequest,
    ProviderConfigError,
    ProviderStatus,
    RefundRequest,
    build_adapter,
    dedupe_key,
)

SETTINGS = {
    "mpesa": lambda key: {
        "base_url": "http://127.0.0.1:1/sandbox/ipg/v2/vodacomTZN",
        "api_key": "k",
        "public_key": key,
        "service_provider_code": "000000",
    },
    "tigopesa": lambda key: {
        "token_url": "http://127.0.0.1:1/token",
        "pay_url": "http://127.0.0.1:1/pay",
        "username": "u",
        "password": "p",
        "biller_msisdn": "255650000000",
        "biller_code": "B123",
    },
    "airtelmoney": lambda key: {
        "base_url": "http://127.0.0.1:1",
        "client_id": "c",
        "client_secret": "s",
    },
    "selcom": lambda key: {
        "base_url": "http://127.0.0.1:1/v1",
        "api_key": "k",
        "api_secret": "s",
        "vendor": "V1",
    },
    "card": lambda key: {"secret_key": "sk_test_x", "webhook_secret": "whsec_x"},
}


def settings_for(code: str, key: str) -> dict:
    family = code if code in SETTINGS else "selcom"
    return SETTINGS[family](key)


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_registry_code_builds_an_adapter(code, public_key_b64):
    adapter = build_adapter(code, settings_for(code, public_key_b64))
    assert adapter.code == code
    assert adapter.capabilities.currency == "TZS"


def test_registry_covers_the_six_mobile_money_codes_and_cards():
    assert set(REGISTRY) == {
        "mpesa", "tigopesa", "airtelmoney", "halopesa", "tpesa", "ezypesa", "card"
    }  # fmt: skip


def test_unknown_code_and_unknown_setting_are_config_errors(public_key_b64):
    with pytest.raises(ProviderConfigError, match="unknown provider"):
        build_adapter("mpaisa", {})
    with pytest.raises(ProviderConfigError, match="unknown settings"):
        build_adapter("airtelmoney", {**settings_for("airtelmoney", ""), "client_secert": "x"})
    with pytest.raises(ProviderConfigError, match="missing"):
        build_adapter("airtelmoney", {"base_url": "http://x"})


def test_terminal_states():
    assert ProviderStatus.PENDING not in TERMINAL
    assert {"succeeded", "failed", "cancelled", "expired", "reversed"} == TERMINAL


def request(**overrides) -> CollectionRequest:
    fields = {
        "topup_id": "tp_1",
        "reference": "TP0001",
        "msisdn": "255712340000",
        "amount_minor": 100_000,
        "currency": "TZS",
        "description": "Wallet top-up",
        "callback_url": "https://malipo.example/v1/callbacks/x",
    }
    return CollectionRequest(**(fields | overrides))


@pytest.mark.parametrize("reference", ["", "has space", "x" * 21, "tp-1", "tp_1"])
def test_reference_must_be_short_and_alphanumeric(reference):
    with pytest.raises(ValueError, match="letters or digits"):
        request(reference=reference)


@pytest.mark.parametrize("amount", [1000.0, Decimal("1000"), True, "1000"])
def test_amount_must_be_integer_minor_units(amount):
    with pytest.raises(TypeError):
        request(amount_minor=amount)


def test_refund_cannot_exceed_the_payment_and_knows_when_partial():
    fields = {
        "refund_reference": "RF1",
        "provider_txn_id": "X1",
        "original_reference": "TP0001",
        "currency": "TZS",
        "msisdn": "255712340000",
        "reason": "r",
    }
    with pytest.raises(ValueError, match="more than"):
        RefundRequest(amount_minor=200, original_amount_minor=100, **fields)
    assert RefundRequest(amount_minor=100, original_amount_minor=200, **fields).partial


@pytest.mark.parametrize(("minor", "shillings"), [(100, 1), (100_000, 1000), (123_400, 1234)])
def test_whole_shillings(minor, shillings):
    assert to_whole_shillings(minor, "TZS") == shillings


@pytest.mark.parametrize(
    ("minor", "currency", "error"),
    [
        (150, "TZS", ValueError),
        (0, "TZS", ValueError),
        (-100, "TZS", ValueError),
        (100, "USD", ValueError),
        (1.0, "TZS", TypeError),
    ],
)
def test_fractions_other_currencies_and_floats_are_refused(minor, currency, error):
    with pytest.raises(error):
        to_whole_shillings(minor, currency)


@pytest.mark.parametrize(
    ("wire", "minor"),
    [("1000", 100_000), (1000, 100_000), (Decimal("1000.00"), 100_000), ("1,000.50", 100_050)],
)
def test_provider_amounts_to_minor_exactly(wire, minor):
    assert shillings_to_minor(wire) == minor


def test_provider_amounts_reject_floats_and_sub_cent_values():
    with pytest.raises(TypeError):
        shillings_to_minor(1000.0)
    with pytest.raises(ValueError):
        shillings_to_minor("1000.005")
    assert optional_minor("abc") is None
    assert optional_minor(None) is None


def test_dedupe_key_is_provider_plus_transaction_id_plus_status():
    assert dedupe_key("mpesa", "ABC123", "TP1", "succeeded") == "mpesa:ABC123:succeeded"
    assert dedupe_key("mpesa", None, "TP1", "failed") == "mpesa:ref:TP1:failed"
    # An interim event must not swallow the final one, nor a failure a later success.
    assert dedupe_key("selcom", "R1", "TP1", "pending") != dedupe_key(
        "selcom", "R1", "TP1", "succeeded"
    )
    assert dedupe_key("mpesa", None, "TP1", "failed") != dedupe_key(
        "mpesa", None, "TP1", "succeeded"
    )
