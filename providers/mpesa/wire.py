"""M-Pesa Open API wire shapes and the exhaustive INS- code mapping (providers.md §1).

INS-0 means "accepted" in async mode and "paid" in sync mode, so the mapping takes the
mode. INS-1, INS-9, INS-10 and INS-16 do not say whether money moved: pending, ambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.base import Mapped, ProviderStatus

S = ProviderStatus

COUNTRY = "TZN"
CURRENCY = "TZS"

GET_SESSION_PATH = "getSession/"
C2B_PATH = "c2bPayment/singleStage/"
QUERY_PATH = "queryTransactionStatus/"
REVERSAL_PATH = "reversal/"

SUCCESS_CODE = "INS-0"


def _failed(description: str) -> Mapped:
    return Mapped(status=S.FAILED, description=description)


def _ambiguous(description: str) -> Mapped:
    return Mapped(status=S.PENDING, ambiguous=True, description=description)


RESPONSE_CODES: dict[str, Mapped] = {
    # INS-0 is resolved by mode in map_response_code().
    "INS-1": _ambiguous("internal error (also seen for insufficient funds)"),
    "INS-5": Mapped(status=S.CANCELLED, description="cancelled by customer [Mozambique table]"),
    "INS-6": _failed("transaction failed"),
    "INS-9": _ambiguous("request timeout"),
    "INS-10": _ambiguous("duplicate transaction: look up the existing attempt"),
    "INS-13": _failed("invalid shortcode"),
    "INS-15": _failed("invalid amount"),
    "INS-16": _ambiguous("unable to handle the request (overload) [Mozambique table]"),
    "INS-17": _failed("invalid transaction reference length"),
    "INS-20": _failed("not all parameters provided"),
    "INS-21": _failed("parameter validation failed"),
    "INS-990": _failed("limit breached"),
    "INS-991": _failed("limit breached"),
    "INS-992": _failed("limit breached"),
    "INS-993": _failed("limit breached"),
    "INS-994": _failed("limit breached"),
    "INS-995": _failed("limit breached"),
    "INS-996": _failed("outside usage time"),
    "INS-997": _failed("API not enabled"),
    "INS-998": _failed("invalid market"),
    "INS-2006": _failed("insufficient balance"),
    "INS-2051": _failed("invalid MSISDN"),
}

QUERY_STATUSES: dict[str, Mapped] = {
    "Completed": Mapped(status=S.SUCCEEDED, description="completed"),
    "Cancelled": Mapped(status=S.CANCELLED, description="cancelled"),
    "Expired": Mapped(status=S.EXPIRED, description="expired"),
    # N/A: not (yet) known; the caller expires it after its own deadline.
    "N/A": _ambiguous("not available"),
}


def unknown(raw: str) -> Mapped:
    return Mapped(status=S.PENDING, unknown_status=True, description=f"unknown status {raw!r}")


def map_response_code(code: str, *, sync: bool) -> Mapped:
    if code == SUCCESS_CODE:
        if sync:
            return Mapped(status=S.SUCCEEDED, description="request processed successfully")
        return Mapped(status=S.PENDING, description="accepted; result follows by callback")
    return RESPONSE_CODES.get(code) or unknown(code)


def map_query_status(value: str) -> Mapped:
    return QUERY_STATUSES.get(value) or unknown(value)


def map_reversal_code(code: str) -> Mapped:
    if code == SUCCESS_CODE:
        return Mapped(status=S.REVERSED, description="reversal successful")
    return RESPONSE_CODES.get(code) or unknown(code)


def c2b_body(
    *,
    amount_shillings: int,
    msisdn: str,
    service_provider_code: str,
    reference: str,
    description: str,
) -> dict[str, str]:
    """Our reference is both the conversation id (echoed in callbacks) and the reference."""
    return {
        "input_Amount": str(amount_shillings),
        "input_Country": COUNTRY,
        "input_Currency": CURRENCY,
        "input_CustomerMSISDN": msisdn,
        "input_ServiceProviderCode": service_provider_code,
        "input_ThirdPartyConversationID": reference,
        "input_TransactionReference": reference,
        "input_PurchasedItemsDesc": description[:100] or reference,
    }


def query_params(
    *, query_reference: str, service_provider_code: str, conversation_id: str
) -> dict[str, str]:
    return {
        "input_QueryReference": query_reference,
        "input_ServiceProviderCode": service_provider_code,
        "input_ThirdPartyConversationID": conversation_id,
        "input_Country": COUNTRY,
    }


def reversal_body(
    *, amount_shillings: int, service_provider_code: str, conversation_id: str, txn_id: str
) -> dict[str, str]:
    return {
        "input_ReversalAmount": str(amount_shillings),
        "input_Country": COUNTRY,
        "input_ServiceProviderCode": service_provider_code,
        "input_ThirdPartyConversationID": conversation_id,
        "input_TransactionID": txn_id,
    }


def present(body: Mapping[str, Any], key: str) -> str | None:
    """A field's text, with M-Pesa's "N/A" placeholder (duplicates, async acks) as None."""
    value = body.get(key)
    if value in (None, "", "N/A"):
        return None
    return str(value)


def callback_ack_body(
    body: Mapping[str, Any] | None, *, ok: bool, description: str
) -> dict[str, str]:
    """`output_ResponseCode: "0"` tells M-Pesa we have the result (msomali/mpesa)."""
    body = body or {}
    return {
        "output_OriginalConversationID": str(body.get("input_OriginalConversationID", "")),
        "output_ResponseCode": "0" if ok else "1",
        "output_ResponseDesc": description,
        "output_ThirdPartyConversationID": str(body.get("input_ThirdPartyConversationID", "")),
    }
