"""Selcom checkout wire shapes and the exhaustive status mapping (providers.md §5).

`resultcode` answers the API call ("000" done, "111" pending); `payment_status` is the
order's payment. Values marked [I] come from Selcom's public docs, not the reference.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from providers.base import Mapped, ProviderStatus

S = ProviderStatus

CREATE_ORDER_PATH = "checkout/create-order-minimal"
WALLET_PAYMENT_PATH = "checkout/wallet-payment"
ORDER_STATUS_PATH = "checkout/order-status"
CANCEL_ORDER_PATH = "checkout/cancel-order"

# Our registry code -> the operator name carried as the channel [I: Selcom's spelling].
CHANNELS = {"halopesa": "HALOPESA", "tpesa": "TPESA", "ezypesa": "EZYPESA"}

CALL_OK = "000"
CALL_PENDING = "111"

RESULT_CODES: dict[str, Mapped] = {
    CALL_OK: Mapped(status=S.SUCCEEDED, description="SUCCESS"),
    CALL_PENDING: Mapped(status=S.PENDING, description="PENDING: callback follows"),
    "999": Mapped(status=S.PENDING, ambiguous=True, description="unknown/ambiguous [I]"),
}

PAYMENT_STATUSES: dict[str, Mapped] = {
    "COMPLETED": Mapped(status=S.SUCCEEDED, description="completed"),
    "PENDING": Mapped(status=S.PENDING, description="pending"),
    "INPROGRESS": Mapped(status=S.PENDING, description="in progress [I]"),
    "CANCELLED": Mapped(status=S.CANCELLED, description="order cancelled"),
    "USERCANCELED": Mapped(status=S.CANCELLED, description="cancelled by payer [I]"),
    "REJECTED": Mapped(status=S.FAILED, description="rejected [I]"),
}

# The webhook fields we act on; each one present must be covered by the signature.
WEBHOOK_FIELDS = (
    "order_id",
    "transid",
    "reference",
    "result",
    "resultcode",
    "payment_status",
    "amount",
    "channel",
    "msisdn",
)


def unknown(raw: str) -> Mapped:
    return Mapped(status=S.PENDING, unknown_status=True, description=f"unknown status {raw!r}")


def map_payment_status(value: str) -> Mapped:
    return PAYMENT_STATUSES.get(value.upper()) or unknown(value)


def map_result_code(code: str) -> Mapped:
    return RESULT_CODES.get(code) or unknown(code)


def map_any(raw: str) -> Mapped:
    return PAYMENT_STATUSES.get(raw.upper()) or RESULT_CODES.get(raw) or unknown(raw)


def map_push(code: str) -> Mapped:
    """A wallet-payment answer: "000" or "111" means the push went out, not that it paid."""
    if code in (CALL_OK, CALL_PENDING):
        return Mapped(status=S.PENDING, description="USSD push sent")
    if code in RESULT_CODES:
        return RESULT_CODES[code]
    return Mapped(status=S.FAILED, unknown_status=True, description=f"push refused: {code!r}")


def map_order(order: Mapping[str, Any]) -> Mapped:
    """An order's payment from its payment_status, else from its resultcode."""
    status = order.get("payment_status")
    if status:
        return map_payment_status(str(status))
    return map_result_code(str(order.get("resultcode") or ""))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def order_body(
    *,
    vendor: str,
    order_id: str,
    buyer_email: str,
    buyer_name: str,
    msisdn: str,
    amount_shillings: int,
    webhook_url: str,
) -> dict[str, Any]:
    """Key order is the signing order, so it is fixed here."""
    return {
        "vendor": vendor,
        "order_id": order_id,
        "buyer_email": buyer_email,
        "buyer_name": buyer_name,
        "buyer_phone": msisdn,
        "amount": amount_shillings,
        "currency": "TZS",
        "webhook": b64(webhook_url),
        "no_of_items": 1,
    }


def wallet_payment_body(*, transid: str, order_id: str, msisdn: str) -> dict[str, str]:
    return {"transid": transid, "order_id": order_id, "msisdn": msisdn}


def first_order(body: Any) -> dict[str, Any]:
    """order-status answers `data: [ {...} ]`; tolerate a bare object too."""
    if not isinstance(body, dict):
        return {}
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return data if isinstance(data, dict) else {}


def text(block: Mapping[str, Any], key: str) -> str | None:
    value = block.get(key)
    return None if value in (None, "") else str(value)
