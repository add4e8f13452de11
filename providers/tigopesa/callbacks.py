"""Tigo Pesa payment callbacks: check the source address, parse, acknowledge.

Tigo does not sign callbacks and has no status query; the only proofs are its source
networks (providers.md §2) and the secret path we gave it, so both are required.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from providers.allowlist import SourceAllowList
from providers.amounts import optional_minor
from providers.base import CallbackAck, CallbackEvent, Proof, dedupe_key
from providers.callback_path import require_path_token
from providers.inbound import Clock, json_object, require_source, require_text, utc_now
from providers.tigopesa import wire

NAMESPACE = "tigopesa"


def strip_prefix(reference_id: str, prefix: str) -> str:
    """Our reference without the biller-code prefix we put in front of it."""
    if prefix and reference_id.startswith(prefix):
        return reference_id[len(prefix) :]
    return reference_id


def parse_callback(
    raw_body: bytes,
    remote_addr: str | None,
    *,
    provider: str,
    prefix: str,
    allow: SourceAllowList,
    headers: Mapping[str, str],
    callback_token: str | None,
    clock: Clock = utc_now,
) -> CallbackEvent:
    require_path_token(headers, callback_token)
    require_source(allow, remote_addr)
    body = json_object(raw_body)
    require_text(body, "ReferenceID", "Status")
    description = str(body.get("Description") or "")
    mapped = wire.map_callback(body["Status"], description)
    txn_id = wire.text(body, "MFSTransactionID")
    reference = strip_prefix(str(body["ReferenceID"]), prefix)
    return CallbackEvent(
        provider=provider,
        status=mapped.status,
        ambiguous=mapped.ambiguous,
        unknown_status=mapped.unknown_status,
        provider_ref=str(body["ReferenceID"]),
        provider_txn_id=txn_id,
        amount_minor=optional_minor(body.get("Amount")),  # a string since msomali 6ace282
        currency="TZS",
        reason_code=str(body["Status"]),
        reason=mapped.description,
        our_reference=reference,
        dedupe_key=dedupe_key(NAMESPACE, txn_id, reference, mapped.status),
        proof=Proof.SOURCE if allow.enabled else Proof.NONE,
        received_at=clock(),
        raw=body,
    )


def callback_ack(
    event: CallbackEvent | None, ok: bool, *, success_code: str, failure_code: str
) -> CallbackAck:
    reference_id = event.provider_ref if event and event.provider_ref else ""
    body = wire.ack_body(reference_id, ok=ok, code=success_code if ok else failure_code)
    return CallbackAck(status_code=200, body=json.dumps(body).encode())
