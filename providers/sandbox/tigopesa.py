"""Tigo Pesa (Mixx by Yas) push-billing simulator.

Speaks providers.md §2: a password-grant token, the pay URL with `Username`/`Password`
headers beside the bearer token, `BILLER-18-0000-S` for a valid request, the unsigned
callback with `Amount` as a string, and ReverseTransaction refunds. Tigo publishes no
status query, so neither does the simulator: the no-callback scenario is found only by
reconciliation. A timed-out initiate is the gateway's 504, which carries no Tigo code.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from providers.allowlist import SANDBOX_SOURCES
from providers.sandbox import access, statements
from providers.sandbox.delivery import Courier, Redelivery
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
from providers.sandbox.payments import DuplicateRefund, Payment, RefundRefused
from providers.sandbox.scenarios import Scenario, Settlement, scenario_for

USERNAME = "malipo-sandbox"
PASSWORD = "malipo-sandbox-password"  # noqa: S105 - a simulator's published credential
BILLER_MSISDN = "255650000000"
BILLER_CODE = "SBX"
CHANNEL_MSISDN = "255650000001"
CHANNEL_PIN = "1234"
CALLBACK_TOKEN = "sandbox-tigopesa-callback-token"  # noqa: S105 - published, like the rest
_REALM = "tigopesa-access"

PAY_FIELDS = ("CustomerMSISDN", "BillerMSISDN", "Amount", "ReferenceID")
REVERSE_FIELDS = (
    "CustomerMSISDN",
    "ChannelMSISDN",
    "ChannelPIN",
    "Amount",
    "MFSTransactionID",
    "ReferenceID",
    "PurchaseReferenceID",
)
MAX_SHILLINGS = 5_000_000

# Tigo does not separate the failures by code; the description says what happened.
CALLBACK_DESCRIPTIONS: dict[Settlement, str] = {
    Settlement.PAID: "Transaction successful",
    Settlement.INSUFFICIENT_FUNDS: "Insufficient funds in the customer's account",
    Settlement.CANCELLED: "Transaction cancelled by the customer",
}


def settings(base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "token_url": f"{base}/token",
        "pay_url": f"{base}/billerpay",
        "refund_url": f"{base}/reverse",
        "username": USERNAME,
        "password": PASSWORD,
        "biller_msisdn": BILLER_MSISDN,
        "biller_code": BILLER_CODE,
        "channel_msisdn": CHANNEL_MSISDN,
        "channel_pin": CHANNEL_PIN,
        "callback_token": CALLBACK_TOKEN,  # the secret path the simulator posts to
        "callback_ips": SANDBOX_SOURCES,  # the same rule as live (DESIGN.md, Trust)
    }


def blueprint(*, callback_url: str, delay_s: float) -> Blueprint:
    sim = TigoSimulator(callback_url, delay_s)
    routes = [
        ("POST", "/token", sim.token),
        ("POST", "/billerpay", sim.pay),
        ("POST", "/reverse", sim.reverse),
    ]
    # ASP.NET Web API's own answer, as for a missing token: {"Message": ...}
    return operator_blueprint(
        "tigopesa",
        sim,
        routes,
        statement=statements.tigopesa,
        refuse=lambda status, message: answer({"Message": message}, status),
    )


def _biller(
    code: str, ok: bool, description: str, reference_id: str = "", **extra: Any
) -> Response:
    body = {
        "ResponseCode": code,
        "ResponseStatus": ok,
        "ResponseDescription": description,
        "ReferenceID": reference_id,
        **extra,
    }
    return answer(body)


def _refused(body: dict[str, Any] | None, fields: tuple[str, ...]) -> Response | None:
    """Token first (an ASP.NET 401, no Tigo code), then credentials, then fields."""
    if not access.is_valid(_REALM, access.bearer(request.headers.get("Authorization"))):
        return answer({"Message": "Authorization has been denied for this request."}, 401)
    reference_id = str((body or {}).get("ReferenceID") or "")
    if (request.headers.get("Username"), request.headers.get("Password")) != (USERNAME, PASSWORD):
        return _biller("BILLER-18-3021-E", False, "Invalid credentials", reference_id)
    if body is None or missing(body, *fields):
        return _biller("BILLER-18-3020-E", False, "Missing mandatory fields", reference_id)
    if not is_tz_msisdn(body["CustomerMSISDN"]):
        return _biller("DebitMandate-10-2004-V", False, "Invalid MSISDN", reference_id)
    amount = whole_shillings(body["Amount"])
    if amount is None or amount > MAX_SHILLINGS:
        return _biller("BILLER-18-3018-E", False, "Amount is below or above limit", reference_id)
    return None


class TigoSimulator:
    def __init__(self, callback_url: str, delay_s: float) -> None:
        self.callback_url = callback_url
        self.courier = Courier(accepts=_acknowledged, policy=Redelivery.paced_by(delay_s))
        self.payer = PayerSimulation(self._notify, delay_s=delay_s)

    def token(self) -> Response:
        form = request.form
        if form.get("grant_type") != "password":
            return answer({"error": "unsupported_grant_type"}, 400)
        if (form.get("username"), form.get("password")) != (USERNAME, PASSWORD):
            return answer({"error": "invalid_grant"}, 400)
        token = access.issue(_REALM)
        return answer({"access_token": token, "token_type": "bearer", "expires_in": 3599})

    def pay(self) -> Response:
        body = json_body()
        refusal = _refused(body, PAY_FIELDS)
        if refusal is not None:
            return refusal
        body = body or {}
        reference_id = str(body["ReferenceID"])
        if body["BillerMSISDN"] != BILLER_MSISDN:
            return _biller("BILLER-18-3022-E", False, "Biller is not active", reference_id)
        payment = _payment(body, self.callback_url)
        if not self.payer.begin(payment):
            return _biller("BILLER-18-3020-E", False, "Duplicate ReferenceID", reference_id)
        if payment.scenario is Scenario.INITIATE_TIMEOUT:
            return Response("upstream request timeout", status=504, mimetype="text/plain")
        return _biller("BILLER-18-0000-S", True, "Valid request", reference_id, Message="")

    def reverse(self) -> Response:
        body = json_body()
        refusal = _refused(body, REVERSE_FIELDS)
        if refusal is not None:
            return refusal
        body = body or {}
        reference_id = str(body["ReferenceID"])
        if (body["ChannelMSISDN"], str(body["ChannelPIN"])) != (CHANNEL_MSISDN, CHANNEL_PIN):
            return _biller("BILLER-18-3021-E", False, "Invalid channel credentials", reference_id)
        try:
            shillings = whole_shillings(body["Amount"])
            self.payer.book.refund(str(body["MFSTransactionID"]), shillings, reference_id)
        except DuplicateRefund:
            return _biller("RefundTransaction-20-3039-E", False, "Duplicate refund", reference_id)
        except RefundRefused as error:
            return _biller("RefundTransaction-20-3039-E", False, str(error), reference_id)
        return _biller(
            "RefundTransaction-20-0000-S",
            True,
            "Refund successful",
            reference_id,
            DMReferenceID=operator_id("DM"),
        )

    def _notify(self, payment: Payment) -> None:
        paid = payment.settlement is Settlement.PAID
        body = {
            "Status": paid,
            "Description": CALLBACK_DESCRIPTIONS[payment.settlement],
            "MFSTransactionID": payment.receipt if paid else "",
            "ReferenceID": payment.reference,
            "Amount": str(payment.paid if paid else payment.asked),
        }
        message = (json.dumps(body).encode(), {"Content-Type": "application/json"})
        self.courier.deliver(payment.callback_url, lambda: message)


def _acknowledged(answer: bytes) -> bool:
    """The biller's ack says `ResponseStatus: true`; false is its failure ack."""
    try:
        body = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return False
    status = body.get("ResponseStatus") if isinstance(body, dict) else None
    return status is True or str(status).lower() == "true"


def _payment(body: dict[str, Any], callback_url: str) -> Payment:
    msisdn = str(body["CustomerMSISDN"])
    return Payment(
        key=str(body["ReferenceID"]),
        reference=str(body["ReferenceID"]),
        msisdn=msisdn,
        asked=whole_shillings(body["Amount"]) or 0,
        scenario=scenario_for(msisdn),
        receipt=operator_id("MP"),
        callback_url=callback_url,
    )
