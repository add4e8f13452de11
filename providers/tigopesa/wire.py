"""Tigo Pesa push-billing wire shapes and the exhaustive code mapping (providers.md §2).

Tigo has no status query, so the callback is the only word on the outcome; it does not
separate cancelled from expired, so `Description` is read best-effort for that [I].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.base import Mapped, ProviderStatus

S = ProviderStatus

VALID_REQUEST = "BILLER-18-0000-S"
DEFAULT_ACK_SUCCESS = "BILLER-18-0000-S"  # BILLER-30-0000-S also seen
DEFAULT_ACK_FAILURE = "BILLER-18-3020-E"  # BILLER-30-3030-E also seen
# test, live (as of tumainimosha/laravel-tigopesa-push): confirm at onboarding, then configure.
PUBLISHED_CALLBACK_IPS = ("41.222.176.233", "41.222.176.143")

SYNC_CODES: dict[str, Mapped] = {
    VALID_REQUEST: Mapped(status=S.PENDING, description="valid request; awaiting payer"),
    "DebitMandate-10-2004-V": Mapped(status=S.FAILED, description="invalid MSISDN"),
    "DebitMandate-10-2005-E": Mapped(status=S.FAILED, description="MSISDN not registered"),
    "BILLER-18-3018-E": Mapped(status=S.FAILED, description="amount below/above limit"),
    "BILLER-18-3019-E": Mapped(status=S.FAILED, description="amount below/above limit"),
    "BILLER-18-3021-E": Mapped(status=S.FAILED, description="invalid credentials"),
    "BILLER-18-3022-E": Mapped(status=S.FAILED, description="biller inactive"),
}

REFUND_CODES: dict[str, Mapped] = {
    "RefundTransaction-20-0000-S": Mapped(status=S.REVERSED, description="refund successful"),
    "RefundTransaction-20-3039-E": Mapped(status=S.FAILED, description="refund failed"),
}

_CANCEL_WORDS = ("cancel", "reject", "declin")
_EXPIRE_WORDS = ("expire", "timeout", "timed out", "time out")


def unknown(raw: str) -> Mapped:
    return Mapped(status=S.PENDING, unknown_status=True, description=f"unknown code {raw!r}")


def as_bool(value: Any) -> bool | None:
    """Tigo's booleans, which some gateways send as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def map_sync(code: str, response_status: Any) -> Mapped:
    known = SYNC_CODES.get(code)
    if known is not None:
        return known
    if as_bool(response_status) is False:
        # The reference's rule: a refused request is a failure, whatever its code.
        return Mapped(status=S.FAILED, unknown_status=True, description=f"refused: {code!r}")
    return unknown(code)


def map_refund(code: str, response_status: Any) -> Mapped:
    known = REFUND_CODES.get(code)
    if known is not None:
        return known
    if as_bool(response_status) is False:
        return Mapped(status=S.FAILED, unknown_status=True, description=f"refused: {code!r}")
    return unknown(code)


def map_callback(status: Any, description: str) -> Mapped:
    flag = as_bool(status)
    if flag is True:
        return Mapped(status=S.SUCCEEDED, description=description or "paid")
    if flag is None:
        return unknown(str(status))
    lowered = description.lower()
    if any(word in lowered for word in _CANCEL_WORDS):
        return Mapped(status=S.CANCELLED, description=description)
    if any(word in lowered for word in _EXPIRE_WORDS):
        return Mapped(status=S.EXPIRED, description=description)
    return Mapped(status=S.FAILED, description=description or "failed")


def token_form(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password, "grant_type": "password"}


def pay_body(
    *, msisdn: str, biller_msisdn: str, amount_shillings: int, remarks: str, reference_id: str
) -> dict[str, Any]:
    return {
        "CustomerMSISDN": msisdn,
        "BillerMSISDN": biller_msisdn,
        "Amount": amount_shillings,
        "Remarks": remarks,
        "ReferenceID": reference_id,
    }


def reverse_body(
    *,
    msisdn: str,
    channel_msisdn: str,
    channel_pin: str,
    amount_shillings: int,
    mfs_transaction_id: str,
    reference_id: str,
    purchase_reference_id: str,
) -> dict[str, Any]:
    return {
        "CustomerMSISDN": msisdn,
        "ChannelMSISDN": channel_msisdn,
        "ChannelPIN": channel_pin,
        "Amount": amount_shillings,
        "MFSTransactionID": mfs_transaction_id,
        "ReferenceID": reference_id,
        "PurchaseReferenceID": purchase_reference_id,
    }


def ack_body(reference_id: str, *, ok: bool, code: str) -> dict[str, Any]:
    return {
        "ResponseCode": code,
        "ResponseStatus": ok,
        "ResponseDescription": "Callback successful" if ok else "Callback failed",
        "ReferenceID": reference_id,
    }


def text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value in (None, "") else str(value)
