"""Stripe webhooks: the raw body verified by `stripe.Webhook.construct_event`.

The signature (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of `t.body` with the endpoint
secret) is checked on the raw bytes, within the library's tolerance (300 s): a bad or
stale one is InvalidCallback, and nothing is stored but the evidence. A verified event
is one fact per event id; what it means for money is decided later, in the worker,
from the object re-read from Stripe (a webhook only confirms).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from providers.base import CallbackAck, CallbackEvent, InvalidCallback, Proof, ProviderStatus
from providers.inbound import Clock, header, utc_now
from providers.stripe.client import StripeConfig

NAMESPACE = "stripe"
_MEANS = {
    "payment_intent.succeeded": ProviderStatus.SUCCEEDED,
    "payment_intent.payment_failed": ProviderStatus.FAILED,
    "payment_intent.canceled": ProviderStatus.CANCELLED,
}


def parse_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    provider: str,
    config: StripeConfig,
    clock: Clock = utc_now,
) -> CallbackEvent:
    signature = header(headers, "Stripe-Signature")
    if not signature:
        raise InvalidCallback("Stripe-Signature header missing")
    if not config.webhook_secret:
        raise InvalidCallback("no webhook endpoint secret configured: refusing unsigned events")
    try:
        event = stripe.Webhook.construct_event(
            raw_body, signature, config.webhook_secret, tolerance=config.webhook_tolerance_s
        )
    except stripe.SignatureVerificationError as error:
        raise InvalidCallback(f"Stripe signature: {error.user_message or error}") from None
    except ValueError as error:
        raise InvalidCallback(f"Stripe event is not JSON: {error}") from None
    body = event.to_dict()
    subject = (body.get("data") or {}).get("object") or {}
    if not body.get("id") or not body.get("type") or not subject.get("id"):
        raise InvalidCallback("Stripe event lacks id, type or data.object.id")
    metadata = subject.get("metadata") or {}
    return CallbackEvent(
        provider=provider,
        status=_MEANS.get(body["type"], ProviderStatus.PENDING),
        provider_ref=str(subject["id"]),
        reason_code=str(body["type"])[:60],
        reason=f"stripe event {body['id']}",
        channel=NAMESPACE,
        our_reference=metadata.get("reference"),
        dedupe_key=f"{NAMESPACE}:{body['id']}",
        proof=Proof.SIGNATURE,
        received_at=clock(),
        raw=_summary(body, subject),
    )


def _summary(body: Mapping[str, Any], subject: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": body["id"], "type": body["type"], "object_id": subject["id"]}


def event_summary(raw_body: bytes) -> dict[str, Any]:
    """Event id, type and object id of a stored (verified) webhook body."""
    body = json.loads(raw_body)
    subject = (body.get("data") or {}).get("object") or {}
    return _summary(body, subject)


def callback_ack(event: CallbackEvent | None, ok: bool) -> CallbackAck:
    """2xx tells Stripe it is stored; anything else and Stripe retries (for three days)."""
    body = {"received": ok}
    return CallbackAck(status_code=200 if ok else 503, body=json.dumps(body).encode())
