"""Our Standard Webhooks signing against the reference `standardwebhooks` library.

Receivers of our platform events verify with whatever their stack has, most often the
reference library: what we sign it must accept, and a message it signs (as another
Standard Webhooks sender would) ours must accept, over any id, body and secret.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as TheirError

from billing.events.signing import WebhookVerificationError, headers, sign, verify

_ids = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="."),
    min_size=1,
    max_size=40,
)
_bodies = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300).map(str.encode)
_keys = st.binary(min_size=1, max_size=64)


def _whsec(key: bytes, padded: bool = True) -> str:
    encoded = base64.b64encode(key).decode()
    return "whsec_" + (encoded if padded else encoded.rstrip("="))


@settings(max_examples=200)
@given(_ids, _bodies, _keys)
def test_the_library_verifies_what_we_sign(msg_id, body, key):
    sent = headers(msg_id, body, _whsec(key))
    assert Webhook(_whsec(key)).verify(body, sent, json_parse=False) is None


@settings(max_examples=200)
@given(_ids, _bodies, _keys, st.booleans())
def test_we_verify_what_the_library_signs(msg_id, body, key, padded):
    now = int(time.time())
    theirs = Webhook(_whsec(key)).sign(msg_id, datetime.fromtimestamp(now, UTC), body.decode())
    sent = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": theirs}
    verify(sent, body, _whsec(key, padded))
    assert theirs == sign(msg_id, now, body, _whsec(key))


def test_both_refuse_a_tampered_body_a_wrong_secret_and_an_old_timestamp():
    secret, other = _whsec(b"malipo-platform-secret-32-bytes!"), _whsec(b"another secret")
    body = b'{"id":"evt_1","type":"topup.succeeded"}'
    sent = headers("evt_1", body, secret)
    for their_secret, their_body in ((secret, body + b" "), (other, body)):
        with pytest.raises(TheirError):
            Webhook(their_secret).verify(their_body, sent, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        verify(sent, body, other)
    old = int(time.time()) - 600
    stale = headers("evt_1", body, secret, now=old)
    with pytest.raises(TheirError):
        Webhook(secret).verify(body, stale, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        verify(stale, body, secret)


def test_a_rotation_header_with_two_signatures_verifies_in_both():
    old, new = _whsec(b"old secret"), _whsec(b"new secret")
    body = b'{"id":"evt_2"}'
    now = int(time.time())
    both = f"{sign('evt_2', now, body, old)} {sign('evt_2', now, body, new)}"
    sent = {"webhook-id": "evt_2", "webhook-timestamp": str(now), "webhook-signature": both}
    for secret in (old, new):
        Webhook(secret).verify(body, sent, json_parse=False)
        verify(sent, body, secret)
