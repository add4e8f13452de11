"""Airtel Money wire shapes and the exhaustive status mapping (providers.md §3).

Three code families: the transaction status (TS/TF/TIP/TA), the DP008… response codes
that explain it, and the ESB… result codes of the API call itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from providers.base import Mapped, ProviderStatus

S = ProviderStatus

TOKEN_PATH = "/auth/oauth2/token"  # noqa: S105 - a URL path, not a secret
PAYMENTS_PATH = "/merchant/{version}/payments/"
ENQUIRY_PATH = "/standard/{version}/payments/{id}"
REFUND_PATH = "/standard/{version}/payments/refund"

TRANSACTION_STATUSES: dict[str, Mapped] = {
    "TS": Mapped(status=S.SUCCEEDED, description="transaction success"),
    "TF": Mapped(status=S.FAILED, description="transaction failed"),
    "TIP": Mapped(status=S.PENDING, description="transaction in progress"),
    "TA": Mapped(status=S.PENDING, ambiguous=True, description="transaction ambiguous"),
}

RESPONSE_CODES: dict[str, Mapped] = {
    "DP00800001000": Mapped(status=S.PENDING, ambiguous=True, description="ambiguous"),
    "DP00800001001": Mapped(status=S.SUCCEEDED, description="transaction successful"),
    "DP00800001002": Mapped(status=S.FAILED, description="incorrect PIN"),
    "DP00800001003": Mapped(status=S.FAILED, description="balance limit / insufficient funds"),
    "DP00800001005": Mapped(status=S.EXPIRED, description="no PIN entered"),
    "DP00800001006": Mapped(status=S.PENDING, description="in process"),
    "DP00800001007": Mapped(status=S.FAILED, description="insufficient balance"),
    "DP00800001008": Mapped(status=S.CANCELLED, description="refused by payer [I]"),
    "DP00800001024": Mapped(status=S.EXPIRED, description="transaction timed out"),
    "DP00800001025": Mapped(status=S.PENDING, ambiguous=True, description="not found"),
    "DP00800001029": Mapped(status=S.EXPIRED, description="transaction expired"),
}

RESULT_CODES: dict[str, Mapped] = {
    "ESB000010": Mapped(status=S.PENDING, description="request accepted"),
    "ESB000008": Mapped(status=S.FAILED, description="field validation error"),
    "ESB000041": Mapped(
        status=S.PENDING, ambiguous=True, description="duplicate external id: query the first"
    ),
    "ESB000045": Mapped(status=S.PENDING, ambiguous=True, description="transaction not found"),
}

# A TF whose response code says why refines "failed" (providers.md §3 status map).
_TF_REFINEMENTS = {"DP00800001005", "DP00800001008", "DP00800001024", "DP00800001029"}
REFUND_DONE = {"SUCCESS", "TS"}


def unknown(raw: str) -> Mapped:
    return Mapped(status=S.PENDING, unknown_status=True, description=f"unknown status {raw!r}")


def map_any(raw: str) -> Mapped:
    return (
        TRANSACTION_STATUSES.get(raw)
        or RESPONSE_CODES.get(raw)
        or RESULT_CODES.get(raw)
        or unknown(raw)
    )


def map_transaction(status: str, response_code: str | None) -> Mapped:
    if status == "TF" and response_code in _TF_REFINEMENTS:
        return RESPONSE_CODES[response_code]
    return TRANSACTION_STATUSES.get(status) or unknown(status)


def map_call(envelope: Mapping[str, Any]) -> Mapped:
    """The outcome of an initiate call from its `status` block: acceptance, not payment."""
    if envelope.get("success") is True:
        return RESULT_CODES["ESB000010"]
    for key, table in (("result_code", RESULT_CODES), ("response_code", RESPONSE_CODES)):
        code = envelope.get(key)
        if code in table:
            return table[str(code)]
    return unknown(str(envelope.get("result_code") or envelope.get("code")))


def token_body(client_id: str, client_secret: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "client_credentials",
    }


def payment_body(
    *, reference: str, msisdn9: str, amount_shillings: int, txn_id: str, country: str, currency: str
) -> dict[str, Any]:
    """`msisdn9` is the number without country code, as Airtel wants it."""
    return {
        "reference": reference,
        "subscriber": {"country": country, "currency": currency, "msisdn": msisdn9},
        "transaction": {
            "amount": amount_shillings,
            "country": country,
            "currency": currency,
            "id": txn_id,
        },
    }


def refund_body(airtel_money_id: str) -> dict[str, Any]:
    return {"transaction": {"airtel_money_id": airtel_money_id}}


def transaction_of(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    txn = data.get("transaction") if isinstance(data, dict) else None
    return txn if isinstance(txn, dict) else {}


def status_of(body: Any) -> dict[str, Any]:
    block = body.get("status") if isinstance(body, dict) else None
    return block if isinstance(block, dict) else {}


def callback_hash(key: str, transaction: Mapping[str, Any]) -> str:
    """[I] base64 HMAC-SHA256 over the compact `transaction` object; confirm at onboarding."""
    message = json.dumps(transaction, separators=(",", ":"), default=str).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
