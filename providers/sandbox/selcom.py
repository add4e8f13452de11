"""Selcom API gateway simulator: the aggregator carrying HaloPesa, T-Pesa and Ezypesa.

Speaks providers.md §5: every request signed (`SELCOM` key, HS256 `Digest` over the
`Signed-Fields`), `checkout/create-order-minimal`, then the USSD push by
`checkout/wallet-payment` answering "111 PENDING", the webhook signed the same way and
posted to the order's own `webhook` URL, `checkout/order-status`,
`checkout/list-orders` (by creation date) and `checkout/cancel-order`. A timed-out push
is Selcom's "999" (ambiguous) result code; any other path answers in Selcom's envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from providers.allowlist import SANDBOX_SOURCES
from providers.sandbox import selcom_signing, statements
from providers.sandbox.delivery import Courier, Message, Redelivery
from providers.sandbox.exchange import (
    answer,
    is_tz_msisdn,
    json_body,
    missing,
    operator_id,
    whole_shillings,
)
from providers.sandbox.operator_app import operator_blueprint
from providers.sandbox.payer import PayerSimulation
from providers.sandbox.payments import Payment
from providers.sandbox.scenarios import Scenario, Settlement, scenario_for
from providers.sandbox.selcom_orders import (
    PAYMENT_STATUSES,
    date_window,
    gateway_view,
    new_order,
    order_view,
)

API_KEY = "malipo-sandbox-selcom-key"
API_SECRET = "malipo-sandbox-selcom-secret"  # noqa: S105 - a simulator's published secret
VENDOR = "SANDBOX01"

ORDER_FIELDS = (
    "vendor",
    "order_id",
    "buyer_email",
    "buyer_name",
    "buyer_phone",
    "amount",
    "currency",
    "no_of_items",
)
PUSH_FIELDS = ("transid", "order_id", "msisdn")

# The wallet behind a number, as Selcom names the channel (prefixes: providers.md §6).
CHANNELS = {
    "61": "HALOPESA",
    "62": "HALOPESA",
    "63": "HALOPESA",
    "73": "TPESA",
    "77": "EZYPESA",
}

MESSAGES: dict[Settlement, str] = {
    Settlement.PAID: "Payment received",
    Settlement.INSUFFICIENT_FUNDS: "Insufficient balance",
    Settlement.CANCELLED: "Payment cancelled by the customer",
}


def settings(base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "vendor": VENDOR,
        "require_signed_webhooks": True,
        "callback_ips": SANDBOX_SOURCES,  # the same rule as live (DESIGN.md, Trust)
    }


def blueprint(*, callback_url: str, delay_s: float) -> Blueprint:
    sim = SelcomSimulator(callback_url, delay_s)
    routes = [
        ("POST", "/checkout/create-order-minimal", sim.create_order),
        ("POST", "/checkout/wallet-payment", sim.wallet_payment),
        ("GET", "/checkout/order-status", sim.order_status),
        ("DELETE", "/checkout/cancel-order", sim.cancel_order),
        ("GET", "/checkout/list-orders", sim.list_orders),
    ]
    return operator_blueprint(
        "selcom",
        sim,
        routes,
        statement=statements.selcom,
        refuse=lambda status, message: _result(str(status), "FAIL", message, status),
    )


def _result(code: str, result: str, message: str, http: int = 200, **extra: Any) -> Response:
    return answer({"resultcode": code, "result": result, "message": message, **extra}, http)


def _signed_fields(fields: dict[str, Any] | None) -> tuple[dict[str, Any], Response | None]:
    """The request's fields if its signature holds, else Selcom's refusal."""
    if fields is None:
        return {}, _result("400", "FAIL", "Request body must be a JSON object", 400)
    problem = selcom_signing.check_request(request.headers, fields, API_KEY, API_SECRET)
    if problem:
        return {}, _result("403", "FAIL", problem, 403)
    return fields, None


def _webhook_url(encoded: Any, fallback: str) -> str:
    try:
        return base64.b64decode(str(encoded), validate=True).decode() or fallback
    except (binascii.Error, UnicodeDecodeError):
        return fallback


class SelcomSimulator:
    def __init__(self, callback_url: str, delay_s: float) -> None:
        self.callback_url = callback_url
        self.courier = Courier(policy=Redelivery.paced_by(delay_s))  # any 2xx is received
        self.payer = PayerSimulation(self._notify, delay_s=delay_s)
        self._orders: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create_order(self) -> Response:
        body, refusal = _signed_fields(json_body())
        if refusal is not None:
            return refusal
        if missing(body, *ORDER_FIELDS) or body["vendor"] != VENDOR or body["currency"] != "TZS":
            return _result("400", "FAIL", "Invalid or missing order fields", 400)
        if whole_shillings(body["amount"]) is None:
            return _result("400", "FAIL", "Invalid amount", 400)
        order_id = str(body["order_id"])
        with self._lock:
            if order_id in self._orders:
                return _result("400", "FAIL", "Order with this order_id already exists", 400)
            self._orders[order_id] = new_order(body, _now())
        return _result(
            "000",
            "SUCCESS",
            "Order creation successful",
            reference=self._orders[order_id]["reference"],
            data=[gateway_view(self._orders[order_id], request.base_url)],
        )

    def wallet_payment(self) -> Response:
        body, refusal = _signed_fields(json_body())
        if refusal is not None:
            return refusal
        if missing(body, *PUSH_FIELDS) or not is_tz_msisdn(body["msisdn"]):
            return _result("400", "FAIL", "Invalid or missing push fields", 400)
        with self._lock:
            order = self._orders.get(str(body["order_id"]))
        if order is None or order.get("cancelled"):
            return _result("404", "FAIL", "Order not found or cancelled", 404)
        payment = self._payment(order, body)
        if not self.payer.begin(payment):
            return _result("400", "FAIL", "A payment for this order is already in progress", 400)
        transid = str(body["transid"])
        if payment.scenario is Scenario.INITIATE_TIMEOUT:
            return _result("999", "AMBIGUOUS", "Wallet did not answer in time", transid=transid)
        return _result(
            "111",
            "PENDING",
            "Request in progress. You will receive a callback shortly",
            transid=transid,
            reference=payment.receipt,
            data=[],
        )

    def order_status(self) -> Response:
        params, refusal = _signed_fields(dict(request.args))
        if refusal is not None:
            return refusal
        order_id = str(params.get("order_id") or "")
        with self._lock:
            order = self._orders.get(order_id)
        if order is None:
            return _result("404", "FAIL", "Order not found", 404, data=[])
        payment = self.payer.book.find(order_id)
        data = order_view(order, payment)
        return _result("000", "SUCCESS", "Order fetch successful", data=[data])

    def cancel_order(self) -> Response:
        params, refusal = _signed_fields(dict(request.args))
        if refusal is not None:
            return refusal
        order_id = str(params.get("order_id") or "")
        with self._lock:
            order = self._orders.get(order_id)
            unpushed = order is not None and self.payer.book.find(order_id) is None
            if unpushed:
                self._orders[order_id] = {**order, "cancelled": True}
        if unpushed or self.payer.book.cancel(order_id):
            return _result("000", "SUCCESS", "Order cancelled")
        return _result("400", "FAIL", "Order not found or no longer pending", 400)

    def list_orders(self) -> Response:
        params, refusal = _signed_fields(dict(request.args))
        if refusal is not None:
            return refusal
        window = date_window(params)
        if window is None:
            return _result("400", "FAIL", "fromdate and todate must be YYYY-MM-DD, in order", 400)
        with self._lock:
            orders = [
                o for o in self._orders.values() if window[0] <= o["created"].date() <= window[1]
            ]
        data = [order_view(order, self.payer.book.find(order["order_id"])) for order in orders]
        return _result("000", "SUCCESS", "Order fetch successful", data=data)

    def _payment(self, order: dict[str, Any], push: dict[str, Any]) -> Payment:
        msisdn = str(push["msisdn"])
        channel = CHANNELS.get(msisdn[3:5], "")
        return Payment(
            key=str(order["order_id"]),
            reference=str(order["order_id"]),
            msisdn=msisdn,
            asked=whole_shillings(order["amount"]) or 0,
            scenario=scenario_for(msisdn),
            receipt=operator_id(""),
            callback_url=_webhook_url(order.get("webhook"), self.callback_url),
            extra={"transid": str(push["transid"]), "channel": channel},
        )

    def _notify(self, payment: Payment) -> None:
        paid = payment.settlement is Settlement.PAID
        body = {
            "transid": payment.extra["transid"],
            "order_id": payment.reference,
            "reference": payment.receipt,
            "result": "SUCCESS" if paid else "FAIL",
            "resultcode": "000" if paid else "999",
            "payment_status": PAYMENT_STATUSES[payment.settlement],
            "amount": str(payment.paid if paid else payment.asked),
            "msisdn": payment.msisdn,
            "message": MESSAGES[payment.settlement],
        }
        if payment.extra["channel"]:
            body["channel"] = payment.extra["channel"]

        def signed_now() -> Message:  # each attempt carries the time it is sent
            return json.dumps(body).encode(), selcom_signing.sign(body, API_KEY, API_SECRET, _now())

        self.courier.deliver(payment.callback_url, signed_now)


def _now() -> datetime:
    return selcom_signing.local_now()
