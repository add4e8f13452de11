"""M-Pesa async results: parse, and the acknowledgement M-Pesa expects back.

The callback is not signed (providers.md §1), so it is only a hint: the caller must
correlate on both conversation ids and confirm with a status query before crediting.
"""

from __future__ import annotations

import json

from providers.allowlist import SourceAllowList
from providers.base import CallbackAck, CallbackEvent, Proof, dedupe_key
from providers.inbound import Clock, json_object, require_source, require_text, utc_now
from providers.mpesa import wire

NAMESPACE = "mpesa"


def parse_callback(
    raw_body: bytes,
    remote_addr: str | None,
    *,
    provider: str,
    allow: SourceAllowList,
    clock: Clock = utc_now,
) -> CallbackEvent:
    require_source(allow, remote_addr)
    body = json_object(raw_body)
    require_text(
        body, "input_OriginalConversationID", "input_ThirdPartyConversationID", "input_ResultCode"
    )
    code = str(body["input_ResultCode"])
    mapped = wire.map_response_code(code, sync=True)  # a callback carries the final result
    txn_id = wire.present(body, "input_TransactionID")
    reference = str(body["input_ThirdPartyConversationID"])
    return CallbackEvent(
        provider=provider,
        status=mapped.status,
        ambiguous=mapped.ambiguous,
        unknown_status=mapped.unknown_status,
        provider_ref=str(body["input_OriginalConversationID"]),
        provider_txn_id=txn_id,
        reason_code=code,
        reason=str(body.get("input_ResultDesc") or mapped.description),
        our_reference=reference,
        dedupe_key=dedupe_key(NAMESPACE, txn_id, reference, mapped.status),
        proof=Proof.NONE,  # M-Pesa does not sign (providers.md §1)
        received_at=clock(),
        raw=body,
    )


def callback_ack(event: CallbackEvent | None, ok: bool) -> CallbackAck:
    """On failure answer 503 so M-Pesa retries; "0" is the only documented success code."""
    description = "Successfully Accepted Result" if ok else "Result not accepted"
    body = wire.callback_ack_body(event.raw if event else None, ok=ok, description=description)
    return CallbackAck(status_code=200 if ok else 503, body=json.dumps(body).encode())
