"""Standard Webhooks signing and verification, with no I/O and a fixed clock."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from billing.events.signing import WebhookVerificationError, headers, secret_bytes, sign, verify

# The Standard Webhooks specification's published test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(b"malipo-platform-secret-32-bytes!").decode()
NOW = 1_800_000_000
BODY = b'{"id":"evt_1","type":"topup.succeeded","data":{"amount_minor":150000}}'


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_by_hand():
    key = b"malipo-platform-secret-32-bytes!"
    content = b"evt_1." + str(NOW).encode() + b"." + BODY
    by_hand = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert sign("evt_1", NOW, BODY, SECRET) == by_hand


def test_the_specifications_test_vector_signs_and_verifies():
    assert sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SECRET) == SPEC_SIGNATURE
    sent = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    verify(sent, SPEC_BODY, SPEC_SECRET, now=SPEC_TIMESTAMP + 10)


def test_a_whsec_secret_is_base64_and_a_raw_one_is_its_own_bytes():
    assert secret_bytes("whsec_" + base64.b64encode(b"\x00\xffkey").decode()) == b"\x00\xffkey"
    assert secret_bytes("plain-secret") == b"plain-secret"
    assert sign("evt_1", NOW, BODY, "plain-secret") == sign("evt_1", NOW, BODY, b"plain-secret")


def test_signed_headers_verify_with_header_names_in_any_case():
    sent = headers("evt_1", BODY, SECRET, now=NOW)
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    verify({name.title(): value for name, value in sent.items()}, BODY, SECRET, now=NOW)
    verify(sent, BODY.decode(), SECRET, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "evt_2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(NOW + 1)}, b),
        lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
        lambda h, b: ({**h, "webhook-signature": h["webhook-signature"][:-4] + "AAA="}, b),
    ],
    ids=["body", "id", "timestamp", "version", "signature"],
)
def test_any_change_to_the_signed_content_is_refused(tamper):
    sent, body = tamper(headers("evt_1", BODY, SECRET, now=NOW), BODY)
    with pytest.raises(WebhookVerificationError):
        verify(sent, body, SECRET, now=NOW)


def test_another_secret_is_refused():
    sent = headers("evt_1", BODY, SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(sent, BODY, "whsec_" + base64.b64encode(b"other").decode(), now=NOW)


def test_one_matching_signature_among_several_is_enough_during_rotation():
    old = sign("evt_1", NOW, BODY, "old-secret")
    new = sign("evt_1", NOW, BODY, SECRET)
    sent = {"webhook-id": "evt_1", "webhook-timestamp": str(NOW)}
    verify({**sent, "webhook-signature": f"v1a,xyz {old} {new}"}, BODY, SECRET, now=NOW)
    verify({**sent, "webhook-signature": f"{old} {new}"}, BODY, "old-secret", now=NOW)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_tolerance_is_refused(skew):
    sent = headers("evt_1", BODY, SECRET, now=NOW + skew)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(sent, BODY, SECRET, now=NOW)
    verify(sent, BODY, SECRET, tolerance_s=301, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing):
    sent = headers("evt_1", BODY, SECRET, now=NOW)
    del sent[missing]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(sent, BODY, SECRET, now=NOW)


def test_a_timestamp_that_is_not_an_integer_is_refused():
    sent = {**headers("evt_1", BODY, SECRET, now=NOW), "webhook-timestamp": "soon"}
    with pytest.raises(WebhookVerificationError, match="integer"):
        verify(sent, BODY, SECRET, now=NOW)
