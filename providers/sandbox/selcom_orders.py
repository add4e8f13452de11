"""Selcom's orders as its checkout API shows them: the create-order reply's gateway
block, the order-status / list-orders view, and list-orders' date window."""

from __future__ import annotations

import base64
import secrets
from datetime import date, datetime
from typing import Any

from providers.sandbox.exchange import operator_id
from providers.sandbox.payments import Payment
from providers.sandbox.scenarios import Settlement

PAYMENT_STATUSES: dict[Settlement, str] = {
    Settlement.PENDING: "PENDING",
    Settlement.PAID: "COMPLETED",
    Settlement.INSUFFICIENT_FUNDS: "REJECTED",
    Settlement.CANCELLED: "USERCANCELED",
    Settlement.NOT_REACHED: "REJECTED",
}


def new_order(body: dict[str, Any], created: datetime) -> dict[str, Any]:
    """The order as booked, with the ids Selcom issues for it."""
    return {
        **body,
        "created": created,
        "reference": f"{secrets.randbelow(10**10):010d}",  # Selcom's own order reference
        "payment_token": f"{secrets.randbelow(10**8):08d}",
        "gateway_buyer_uuid": operator_id("", 12).lower(),
    }


def gateway_view(order: dict[str, Any], request_url: str) -> dict[str, str]:
    """create-order-minimal's `data[0]`: the hosted payment page, base64 as Selcom sends
    it, and the QR payload a payer scans (the token: this sandbox serves no page)."""
    base = request_url.rsplit("/checkout/", 1)[0]
    page = f"{base}/pg/{order['payment_token']}"
    return {
        "gateway_buyer_uuid": order["gateway_buyer_uuid"],
        "payment_token": order["payment_token"],
        "qr": f"SELCOM-PAY:{order['payment_token']}",
        "payment_gateway_url": base64.b64encode(page.encode()).decode(),
    }


def order_view(order: dict[str, Any], payment: Payment | None) -> dict[str, Any]:
    """An order as order-status lists it; the amount is what moved once it has."""
    view = {
        "order_id": order["order_id"],
        "creation_date": order["created"].strftime("%Y-%m-%d %H:%M:%S"),
        "amount": str(order["amount"]),
        "payment_status": "CANCELLED" if order.get("cancelled") else "PENDING",
    }
    if payment is None:
        return view
    view["payment_status"] = PAYMENT_STATUSES[payment.settlement]
    view["transid"] = payment.extra["transid"]
    view["reference"] = payment.receipt  # Selcom's reference names the push, paid or not
    view["msisdn"] = payment.msisdn
    if payment.extra["channel"]:
        view["channel"] = payment.extra["channel"]
    if payment.settlement is Settlement.PAID:
        view["amount"] = str(payment.paid)
    return view


def date_window(params: dict[str, Any]) -> tuple[date, date] | None:
    """list-orders' `fromdate`/`todate` (YYYY-MM-DD, both days included); None if bad."""
    try:
        start = date.fromisoformat(str(params.get("fromdate") or ""))
        end = date.fromisoformat(str(params.get("todate") or ""))
    except ValueError:
        return None
    return (start, end) if start <= end else None
