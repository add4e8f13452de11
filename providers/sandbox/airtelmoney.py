"""Airtel Money Africa Open API simulator (Tanzania), API v1.

Speaks providers.md §3: a client-credentials token, `X-Country`/`X-Currency` headers,
the 9-digit subscriber number, the `status` envelope with ESB result codes and DP
response codes, the callback in "Callback (With Auth)" mode (a hash over the compact
`transaction` object), enquiry and refund. The callback carries no amount (neither does
Airtel's), so the amount-mismatch scenario shows only in the simulator's books.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from flask import Blueprint, Response, request

from providers.allowlist import SANDBOX_SOURCES
from providers.sandbox import access, statements
from providers.sandbox.delivery import Courier, Redelivery
from providers.sandbox.exchange import (
    answer,
    json_body,
    missing,
    operator_id,
    whole_shillings,
)
from providers.sandbox.operator_app import operator_blueprint
from providers.sandbox.payer import PayerSimulation
from providers.sandbox.payments import DuplicateRefund, Payment, RefundRefused
from providers.sandbox.scenarios import Scenario, Settlement, scenario_for

CLIENT_ID = "malipo-sandbox-client"
CLIENT_SECRET = "malipo-sandbox-client-secret"  # noqa: S105 - a simulator's published credential
CALLBACK_HASH_KEY = "malipo-sandbox-callback-key"
_REALM = "airtelmoney-access"
_MSISDN9 = re.compile(r"^[67]\d{8}$")

# (transaction status, DP response code, message) for the payment's settlement.
OUTCOMES: dict[Settlement, tuple[str, str, str]] = {
    Settlement.PENDING: ("TIP", "DP00800001006", "Transaction in process"),
    Settlement.PAID: ("TS", "DP00800001001", "Transaction is successful"),
    Settlement.INSUFFICIENT_FUNDS: ("TF", "DP00800001007", "Insufficient balance"),
    Settlement.CANCELLED: ("TF", "DP00800001002", "Incorrect PIN has been entered"),
    Settlement.NOT_REACHED: ("TF", "DP00800001024", "Transaction timed out"),
}


def settings(base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "callback_hash_key": CALLBACK_HASH_KEY,
        "callback_ips": SANDBOX_SOURCES,  # the same rule as live (DESIGN.md, Trust)
    }


def blueprint(*, callback_url: str, delay_s: float) -> Blueprint:
    sim = AirtelSimulator(callback_url, delay_s)
    routes = [
        ("POST", "/auth/oauth2/token", sim.token),
        ("POST", "/merchant/v1/payments/", sim.collect),
        ("POST", "/standard/v1/payments/refund", sim.refund),
        ("GET", "/standard/v1/payments/<txn_id>", sim.enquire),
    ]
    return operator_blueprint(
        "airtelmoney",
        sim,
        routes,
        statement=statements.airtelmoney,
        refuse=lambda status, message: _refusal(status, "ESB000045", message),
    )


def _envelope(
    http: int, result_code: str, message: str, *, success: bool, response_code: str = ""
) -> dict[str, Any]:
    status = {"code": str(http), "message": message, "result_code": result_code}
    if response_code:
        status["response_code"] = response_code
    return {**status, "success": success}


def _reply(transaction: dict[str, str], envelope: dict[str, Any], http: int = 200) -> Response:
    return answer({"data": {"transaction": transaction}, "status": envelope}, http)


def _refusal(http: int, result_code: str, message: str) -> Response:
    return answer(
        {"data": {}, "status": _envelope(http, result_code, message, success=False)}, http
    )


def _unauthorised() -> Response | None:
    """The gateway's own checks: a live token and the market headers."""
    if not access.is_valid(_REALM, access.bearer(request.headers.get("Authorization"))):
        return answer({"error": "invalid_token", "error_description": "Access token invalid"}, 401)
    if (request.headers.get("X-Country"), request.headers.get("X-Currency")) != ("TZ", "TZS"):
        return _refusal(400, "ESB000008", "X-Country and X-Currency must be TZ and TZS")
    return None


def hash_of(transaction: dict[str, str]) -> str:
    """[I] base64 HMAC-SHA256 over the compact `transaction` object (providers.md §3)."""
    message = json.dumps(transaction, separators=(",", ":")).encode()
    digest = hmac.new(CALLBACK_HASH_KEY.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class AirtelSimulator:
    def __init__(self, callback_url: str, delay_s: float) -> None:
        self.callback_url = callback_url
        self.courier = Courier(policy=Redelivery.paced_by(delay_s))  # any 2xx is received
        self.payer = PayerSimulation(self._notify, delay_s=delay_s)

    def token(self) -> Response:
        body = json_body() or {}
        if body.get("grant_type") != "client_credentials":
            return answer({"error": "unsupported_grant_type"}, 400)
        if (body.get("client_id"), body.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return answer({"error": "invalid_client"}, 401)
        token = access.issue(_REALM)
        return answer({"access_token": token, "expires_in": "180", "token_type": "bearer"})

    def collect(self) -> Response:
        refusal = _unauthorised()
        if refusal is not None:
            return refusal
        payment = _payment(json_body(), self.callback_url)
        if payment is None:
            return _refusal(400, "ESB000008", "Field validation failed")
        if not self.payer.begin(payment):
            return _refusal(409, "ESB000041", "External transaction id already exists")
        if payment.scenario is Scenario.INITIATE_TIMEOUT:
            return Response("upstream request timeout", status=504, mimetype="text/plain")
        envelope = _envelope(
            200, "ESB000010", "Success.", success=True, response_code="DP00800001006"
        )
        return _reply({"id": payment.reference, "status": "Success."}, envelope)

    def enquire(self, txn_id: str) -> Response:
        refusal = _unauthorised()
        if refusal is not None:
            return refusal
        payment = self.payer.book.find(txn_id)
        if payment is None:
            return _refusal(404, "ESB000045", "No transaction found with provided transaction id")
        status, response_code, message = OUTCOMES[payment.settlement]
        transaction = {"id": payment.reference, "message": message, "status": status}
        if payment.settlement is Settlement.PAID:
            transaction["airtel_money_id"] = payment.receipt
        envelope = _envelope(200, "ESB000010", "SUCCESS", success=True, response_code=response_code)
        return _reply(transaction, envelope)

    def refund(self) -> Response:
        refusal = _unauthorised()
        if refusal is not None:
            return refusal
        transaction = (json_body() or {}).get("transaction")
        receipt = transaction.get("airtel_money_id") if isinstance(transaction, dict) else None
        if not receipt:
            return _refusal(400, "ESB000008", "transaction.airtel_money_id is required")
        try:
            self.payer.book.refund(str(receipt), None, refund_id=str(receipt))
        except DuplicateRefund:
            return _refusal(409, "ESB000041", "Transaction already refunded")
        except RefundRefused:
            return _refusal(404, "ESB000045", "No successful transaction with that id")
        envelope = _envelope(200, "ESB000010", "SUCCESS", success=True)
        return _reply({"airtel_money_id": str(receipt), "status": "SUCCESS"}, envelope)

    def _notify(self, payment: Payment) -> None:
        status, _, message = OUTCOMES[payment.settlement]
        transaction = {"id": payment.reference, "message": message, "status_code": status}
        if payment.settlement is Settlement.PAID:
            transaction["airtel_money_id"] = payment.receipt
        body = {"transaction": transaction, "hash": hash_of(transaction)}
        message = (json.dumps(body).encode(), {"Content-Type": "application/json"})
        self.courier.deliver(payment.callback_url, lambda: message)


def _payment(body: dict[str, Any] | None, callback_url: str) -> Payment | None:
    """The booked push, or None where Airtel answers ESB000008 (field validation)."""
    subscriber = (body or {}).get("subscriber")
    transaction = (body or {}).get("transaction")
    if not isinstance(subscriber, dict) or not isinstance(transaction, dict):
        return None
    if missing(subscriber, "country", "currency", "msisdn") or missing(transaction, "id"):
        return None
    msisdn = str(subscriber["msisdn"])
    asked = whole_shillings(transaction.get("amount"))
    if not _MSISDN9.match(msisdn) or asked is None:
        return None
    return Payment(
        key=str(transaction["id"]),
        reference=str(transaction["id"]),
        msisdn=msisdn,
        asked=asked,
        scenario=scenario_for(msisdn),
        receipt=operator_id("MP"),
        callback_url=callback_url,
    )
