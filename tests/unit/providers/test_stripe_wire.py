"""Stripe's amounts, statuses and webhook signatures (no I/O)."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from providers.base import InvalidCallback, Proof, ProviderStatus
from providers.stripe import wire
from providers.stripe.callbacks import parse_callback
from providers.stripe.client import StripeConfig

SECRET = "whsec_unit"
CONFIG = StripeConfig(secret_key="sk_test_unit", webhook_secret=SECRET)


def test_tzs_is_two_decimal_at_stripe_as_in_iso_4217():
    assert "TZS" not in wire.STRIPE_ZERO_DECIMAL
    assert wire.to_stripe_amount(5_000_00, "TZS") == 500000  # TZS 5,000.00
    assert wire.from_stripe_amount(500000, "TZS") == 5_000_00
    assert wire.to_stripe_amount(12_34, "USD") == 1234
    assert wire.to_stripe_amount(1, "TZS") == 1  # a cent is a cent at Stripe too


def test_a_zero_decimal_currency_is_divided_and_fractions_refused():
    assert wire.to_stripe_amount(5000, "UGX") == 5000  # UGX has exponent 0 in ISO too
    wire.ISO_EXPONENT["XAF_TEST"] = 2
    wire.STRIPE_ZERO_DECIMAL = wire.STRIPE_ZERO_DECIMAL | {"XAF_TEST"}
    try:
        assert wire.to_stripe_amount(500, "XAF_TEST") == 5
        with pytest.raises(ValueError):
            wire.to_stripe_amount(501, "XAF_TEST")
        assert wire.from_stripe_amount(5, "XAF_TEST") == 500
    finally:
        del wire.ISO_EXPONENT["XAF_TEST"]
        wire.STRIPE_ZERO_DECIMAL = wire.STRIPE_ZERO_DECIMAL - {"XAF_TEST"}
    with pytest.raises(TypeError):
        wire.to_stripe_amount(1.5, "TZS")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("intent", "status"),
    [
        ({"status": "requires_action"}, ProviderStatus.PENDING),
        ({"status": "processing"}, ProviderStatus.PENDING),
        ({"status": "requires_payment_method"}, ProviderStatus.PENDING),
        (
            {"status": "requires_payment_method", "last_payment_error": {"code": "x"}},
            ProviderStatus.FAILED,
        ),
        ({"status": "succeeded"}, ProviderStatus.SUCCEEDED),
        ({"status": "canceled"}, ProviderStatus.CANCELLED),
    ],
)
def test_payment_intent_statuses(intent, status):
    assert wire.map_payment_intent(intent).status is status


def test_an_unknown_status_is_pending_and_flagged_never_success():
    mapped = wire.map_payment_intent({"status": "something_new"})
    assert mapped.status is ProviderStatus.PENDING and mapped.unknown_status


def _event(kind="payment_intent.succeeded"):
    return {
        "id": "evt_1",
        "object": "event",
        "type": kind,
        "data": {
            "object": {"id": "pi_1", "object": "payment_intent", "metadata": {"reference": "T1"}}
        },
    }


def _signed(body: dict, secret=SECRET, timestamp=None):
    payload = json.dumps(body)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return payload.encode(), {"Stripe-Signature": header}


def test_a_signed_event_is_one_fact_per_event_id():
    body, headers = _signed(_event())
    event = parse_callback(headers, body, provider="card", config=CONFIG)
    assert event.dedupe_key == "stripe:evt_1"
    assert event.proof is Proof.SIGNATURE
    assert event.provider_ref == "pi_1" and event.our_reference == "T1"
    assert event.status is ProviderStatus.SUCCEEDED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body, {"Stripe-Signature": headers["Stripe-Signature"][:-2] + "00"}),
        lambda body, headers: (body.replace(b"pi_1", b"pi_2"), headers),
        lambda body, headers: (body, {}),
    ],
)
def test_a_tampered_or_unsigned_event_is_refused(tamper):
    body, headers = tamper(*_signed(_event()))
    with pytest.raises(InvalidCallback):
        parse_callback(headers, body, provider="card", config=CONFIG)


def test_a_replay_past_the_tolerance_is_refused():
    body, headers = _signed(_event(), timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidCallback):
        parse_callback(headers, body, provider="card", config=CONFIG)


def test_without_an_endpoint_secret_nothing_is_believed():
    body, headers = _signed(_event(), secret="")
    no_secret = StripeConfig(secret_key="sk_test_unit")
    with pytest.raises(InvalidCallback):
        parse_callback(headers, body, provider="card", config=no_secret)


def test_the_config_never_shows_its_keys():
    assert "sk_test_unit" not in repr(CONFIG) and SECRET not in repr(CONFIG)
