"""Airtel Money callbacks: optional hash check, parse, acknowledge.

Without "Callback (With Auth)" the callback proves nothing; even with it the hash
algorithm is unconfirmed [I], so the caller should confirm through an enquiry.
"""

from __future__ import annotations

import hmac
import json

from providers.airtelmoney import wire
from providers.allowlist import SourceAllowList
from providers.base import CallbackAck, CallbackEvent, InvalidCallback, Proof, dedupe_key
from providers.inbound import Clock, json_object, require_source, require_text, utc_now

NAMESPACE = "airtelmoney"


def parse_callback(
    raw_body: bytes,
    remote_addr: str | None,
    *,
    provider: str,
    allow: SourceAllowList,
    hash_key: str | None,
    clock: Clock = utc_now,
) -> CallbackEvent:
    require_source(allow, remote_addr)
    body = json_object(raw_body)
    txn = body.get("transaction")
    if not isinstance(txn, dict):
        raise InvalidCallback("callback lacks the transaction object")
    require_text(txn, "id", "status_code")
    if hash_key is not None:
        _check_hash(hash_key, txn, body.get("hash"))
    code = str(txn["status_code"])
    mapped = wire.map_transaction(code, None)
    txn_id = wire_text(txn, "airtel_money_id")
    reference = str(txn["id"])
    return CallbackEvent(
        provider=provider,
        status=mapped.status,
        ambiguous=mapped.ambiguous,
        unknown_status=mapped.unknown_status,
        provider_ref=reference,
        provider_txn_id=txn_id,
        reason_code=code,
        reason=str(txn.get("message") or mapped.description),
        our_reference=reference,
        dedupe_key=dedupe_key(NAMESPACE, txn_id, reference, mapped.status),
        proof=Proof.SIGNATURE if hash_key is not None else Proof.NONE,
        received_at=clock(),
        raw=body,
    )


def wire_text(block: dict, key: str) -> str | None:
    value = block.get(key)
    return None if value in (None, "") else str(value)


def _check_hash(key: str, txn: dict, given: object) -> None:
    if not isinstance(given, str) or not given:
        raise InvalidCallback("callback auth is on but the hash is missing")
    if not hmac.compare_digest(wire.callback_hash(key, txn), given):
        raise InvalidCallback("callback hash does not match")


def callback_ack(event: CallbackEvent | None, ok: bool) -> CallbackAck:
    """Airtel documents no ack body; a 2xx stops retries, a 5xx asks for one."""
    body = {"status": "received" if ok else "error"}
    return CallbackAck(status_code=200 if ok else 503, body=json.dumps(body).encode())
