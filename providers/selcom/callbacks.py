"""Selcom checkout webhooks: verify the HS256 digest, parse, acknowledge."""

from __future__ import annotations

import json
from collections.abc import Mapping

from providers.allowlist import SourceAllowList
from providers.amounts import optional_minor
from providers.base import CallbackAck, CallbackEvent, Proof, dedupe_key
from providers.inbound import Clock, json_object, require_source, require_text, utc_now
from providers.selcom import signing, wire
from providers.selcom.client import SelcomConfig

NAMESPACE = "selcom"  # one namespace for all three operators: one Selcom transaction id space


def parse_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    remote_addr: str | None,
    *,
    provider: str,
    config: SelcomConfig,
    allow: SourceAllowList,
    clock: Clock = utc_now,
) -> CallbackEvent:
    require_source(allow, remote_addr)
    body = json_object(raw_body)
    if config.require_signed_webhooks:
        signing.verify(
            headers,
            body,
            api_key=config.api_key,
            api_secret=config.api_secret,
            must_sign=wire.WEBHOOK_FIELDS,
            now=clock(),
            max_skew_s=config.webhook_max_skew_s,
        )
    require_text(body, "order_id")
    mapped = wire.map_order(body)
    txn_id = wire.text(body, "reference")  # Selcom's receipt; transid is ours
    reference = str(body["order_id"])
    return CallbackEvent(
        provider=provider,
        status=mapped.status,
        ambiguous=mapped.ambiguous,
        unknown_status=mapped.unknown_status,
        provider_ref=reference,
        provider_txn_id=txn_id,
        amount_minor=optional_minor(body.get("amount")),
        currency="TZS",
        reason_code=str(body.get("payment_status") or body.get("resultcode") or ""),
        reason=str(body.get("message") or body.get("result") or mapped.description),
        channel=wire.text(body, "channel") or wire.CHANNELS.get(provider),
        msisdn=wire.text(body, "msisdn"),
        our_reference=reference,
        dedupe_key=dedupe_key(NAMESPACE, txn_id, reference, mapped.status),
        proof=Proof.SIGNATURE if config.require_signed_webhooks else Proof.NONE,
        received_at=clock(),
        raw=body,
    )


def callback_ack(event: CallbackEvent | None, ok: bool) -> CallbackAck:
    """Selcom documents no ack body; 2xx means received, 5xx asks for a retry [I]."""
    body = {"result": "SUCCESS" if ok else "FAIL", "resultcode": "000" if ok else "999"}
    return CallbackAck(status_code=200 if ok else 503, body=json.dumps(body).encode())
