"""The demo's step on callback trust: a tenant forges an M-Pesa callback and nothing moves.

The forger knows what `GET /v1/topups` shows it: a paid top-up's conversation id, and
the reference of a top-up it never paid. It posts to the public callback endpoint as
the operator would; the callback is kept as evidence and handed to a person.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests

Call = Callable[..., dict]


def forged_callback_step(
    http: requests.Session, url: str, call: Call, admin_key: str, tenant_key: str, paid: dict, say
) -> None:
    unpaid = call(
        "POST",
        "/v1/topups",
        tenant_key,
        {"amount": 90_000_00, "currency": "TZS", "msisdn": "0754 000 001"},  # payer refuses
    )
    unpaid = _settled(call, tenant_key, unpaid["id"])
    before = call("GET", "/v1/wallet", tenant_key)["balance"]
    forged = {
        "input_OriginalConversationID": paid["provider_ref"],  # the paid one's
        "input_TransactionID": "N/A",
        "input_ResultCode": "INS-0",
        "input_ResultDesc": "Request processed successfully",
        "input_ThirdPartyConversationID": unpaid["reference"],  # the unpaid one's
    }
    answer = http.post(
        f"{url}/v1/callbacks/mpesa",
        data=json.dumps(forged),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    say(
        f"  forged 'paid' for {unpaid['id']} ({unpaid['status']}) naming {paid['id']}'s"
        f" conversation → {answer.status_code} (stored as evidence)"
    )
    item = _review_item(call, admin_key, unpaid["id"])
    say(f"  review item: {item['kind']}: {item['summary']}" if item else "  no review item yet")
    after = call("GET", "/v1/wallet", tenant_key)["balance"]
    status = call("GET", f"/v1/topups/{unpaid['id']}", tenant_key)["status"]
    say(f"  top-up {unpaid['id']} still {status}; balance {before / 100:,.2f} → {after / 100:,.2f}")


def _settled(call: Call, key: str, topup_id: str) -> dict:
    for _ in range(50):
        topup = call("GET", f"/v1/topups/{topup_id}", key, quiet=True)
        if topup["status"] != "pending":
            return topup
        time.sleep(0.2)
    return topup


def _review_item(call: Call, admin_key: str, topup_id: str) -> dict | None:
    for _ in range(50):
        items = call("GET", "/v1/review-items?kind=identity_mismatch", admin_key, quiet=True)
        found = [item for item in items if item.get("topup_id") == topup_id]
        if found:
            return found[0]
        time.sleep(0.2)
    return None
