"""Vodacom M-Pesa Open API simulator (market vodacomTZN), C2B single stage.

Speaks providers.md §1: `getSession/` with the RSA-encrypted API key, then every call
with the RSA-encrypted session id; `c2bPayment/singleStage/` acknowledges INS-0 and the
result follows by callback, or, for the synchronous application (`mpesa_apps`), holds
the call until the payer answers and returns the result itself.
`queryTransactionStatus/` (by TransactionID, ConversationID, ThirdPartyConversationID
or TransactionReference) and `reversal/` answer from the simulator's books. The
callback carries no amount (neither does M-Pesa's), so the amount-mismatch scenario
shows only in the simulator's books, not on the wire.
"""

from __future__ import annotations

import json
import re
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
from providers.sandbox.mpesa_apps import (
    API_KEY,
    open_session,
    session_mode,
    sync_reply,
)
from providers.sandbox.mpesa_key import decrypt_bearer, public_key_b64
from providers.sandbox.operator_app import operator_blueprint
from providers.sandbox.payer import PayerSimulation
from providers.sandbox.payments import DuplicateRefund, Payment, RefundRefused
from providers.sandbox.scenarios import Scenario, Settlement, scenario_for

SERVICE_PROVIDER_CODE = "000000"  # the public sandbox shortcode (providers.md §1)
_REFERENCE = re.compile(r"^[A-Za-z0-9]{1,20}$")
_CONVERSATION = re.compile(r"^[A-Za-z0-9]{1,40}$")

C2B_FIELDS = (
    "input_Amount",
    "input_Country",
    "input_Currency",
    "input_CustomerMSISDN",
    "input_ServiceProviderCode",
    "input_ThirdPartyConversationID",
    "input_TransactionReference",
    "input_PurchasedItemsDesc",
)
QUERY_FIELDS = (
    "input_QueryReference",
    "input_ServiceProviderCode",
    "input_ThirdPartyConversationID",
    "input_Country",
)
REVERSAL_FIELDS = (
    "input_ReversalAmount",
    "input_Country",
    "input_ServiceProviderCode",
    "input_ThirdPartyConversationID",
    "input_TransactionID",
)

# The payer's answer as the callback's result code (INS-5 is from the Mozambique table).
RESULT_CODES: dict[Settlement, tuple[str, str]] = {
    Settlement.PAID: ("INS-0", "Request processed successfully"),
    Settlement.INSUFFICIENT_FUNDS: ("INS-2006", "Insufficient balance"),
    Settlement.CANCELLED: ("INS-5", "Transaction cancelled by customer"),
}
# The payment as queryTransactionStatus reports it; there is no "Failed" in the table.
QUERY_STATUSES: dict[Settlement, str] = {
    Settlement.PENDING: "N/A",
    Settlement.PAID: "Completed",
    Settlement.INSUFFICIENT_FUNDS: "Cancelled",
    Settlement.CANCELLED: "Cancelled",
    Settlement.NOT_REACHED: "Expired",
}


def settings(base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "api_key": API_KEY,
        "public_key": public_key_b64(),
        "service_provider_code": SERVICE_PROVIDER_CODE,
        "mode": "async",
        "callback_ips": SANDBOX_SOURCES,  # the same rule as live (DESIGN.md, Trust)
    }


def blueprint(*, callback_url: str, delay_s: float) -> Blueprint:
    sim = MpesaSimulator(callback_url, delay_s)
    routes = [
        ("GET", "/getSession/", sim.get_session),
        ("POST", "/c2bPayment/singleStage/", sim.c2b),
        ("GET", "/queryTransactionStatus/", sim.query),
        ("PUT", "/reversal/", sim.reversal),
    ]
    return operator_blueprint(
        "mpesa",
        sim,
        routes,
        statement=statements.mpesa,
        refuse=lambda status, message: answer({"output_error": message}, status),
    )


def _ins(code: str, description: str, status: int, **extra: str) -> Response:
    body = {"output_ResponseCode": code, "output_ResponseDesc": description, **extra}
    return answer(body, status)


def _bearer_secret() -> str | None:
    return decrypt_bearer(access.bearer(request.headers.get("Authorization")))


def _refused(body: dict[str, Any] | None, fields: tuple[str, ...]) -> Response | None:
    """M-Pesa's own validation answers, in its order: session, fields, market, shortcode."""
    if not request.headers.get("Origin"):
        return answer({"output_error": "Origin header is required"}, 400)
    if session_mode(_bearer_secret()) is None:
        return answer({"output_error": "Session ID is invalid"}, 401)
    if body is None or missing(body, *fields):
        return _ins("INS-20", "Not all parameters provided. Please try again.", 400)
    if body["input_Country"] != "TZN":
        return _ins("INS-998", "Invalid Market", 400)
    if body["input_ServiceProviderCode"] != SERVICE_PROVIDER_CODE:
        return _ins("INS-13", "Invalid Shortcode Used", 400)
    if not _CONVERSATION.match(str(body["input_ThirdPartyConversationID"])):
        return _ins("INS-21", "Parameter validations failed. Please try again.", 400)
    return None


class MpesaSimulator:
    def __init__(self, callback_url: str, delay_s: float) -> None:
        self.callback_url = callback_url
        self.courier = Courier(accepts=_acknowledged, policy=Redelivery.paced_by(delay_s))
        self.payer = PayerSimulation(self._notify, delay_s=delay_s)

    def get_session(self) -> Response:
        if not request.headers.get("Origin"):
            return answer({"output_error": "Origin header is required"}, 400)
        session_id = open_session(_bearer_secret())
        if session_id is None:
            return answer({"output_error": "Invalid API key"}, 401)
        return _ins("INS-0", "Request processed successfully", 201, output_SessionID=session_id)

    def c2b(self) -> Response:
        body = json_body()
        refusal = _refused(body, C2B_FIELDS) or _c2b_refusal(body or {})
        if refusal is not None:
            return refusal
        payment = _payment(body or {}, self.callback_url)
        if session_mode(_bearer_secret()) == "sync":
            return self._c2b_sync(payment)
        if not self.payer.begin(payment):
            return _ins("INS-10", "Duplicate Transaction", 409, output_TransactionID="N/A")
        if payment.scenario is Scenario.INITIATE_TIMEOUT:
            return _ins("INS-9", "Request timeout", 408)
        return _ins(
            "INS-0",
            "Request processed successfully",
            201,
            output_ConversationID=payment.key,
            output_ThirdPartyConversationID=payment.reference,
        )

    def _c2b_sync(self, payment: Payment) -> Response:
        """The synchronous application's c2b: held until the payer answers."""
        settled = self.payer.pay_while_waiting(payment)
        if settled is None:
            return _ins("INS-10", "Duplicate Transaction", 409, output_TransactionID="N/A")
        return answer(*sync_reply(settled))

    def query(self) -> Response:
        params = dict(request.args)
        refusal = _refused(params, QUERY_FIELDS)
        if refusal is not None:
            return refusal
        payment = self.payer.book.find(params["input_QueryReference"])
        return _ins(
            "INS-0",
            "Request processed successfully",
            200,
            output_ThirdPartyConversationID=params["input_ThirdPartyConversationID"],
            **_query_fields(payment),
        )

    def reversal(self) -> Response:
        body = json_body()
        refusal = _refused(body, REVERSAL_FIELDS)
        if refusal is not None:
            return refusal
        body = body or {}
        conversation = str(body["input_ThirdPartyConversationID"])
        amount = whole_shillings(body["input_ReversalAmount"])
        if amount is None:
            return _ins("INS-15", "Invalid Amount Used", 400)
        try:
            self.payer.book.refund(str(body["input_TransactionID"]), amount, conversation)
        except DuplicateRefund:
            return _ins("INS-10", "Duplicate Transaction", 409, output_TransactionID="N/A")
        except RefundRefused as error:
            return _ins("INS-6", f"Transaction Failed: {error}", 422)
        return _ins(
            "INS-0",
            "Request processed successfully",
            200,
            output_TransactionID=operator_id("RV"),
            output_ConversationID=operator_id("", 32).lower(),
            output_ThirdPartyConversationID=conversation,
        )

    def _notify(self, payment: Payment) -> None:
        code, description = RESULT_CODES[payment.settlement]
        body = {
            "input_OriginalConversationID": payment.key,
            "input_TransactionID": payment.receipt if code == "INS-0" else "N/A",
            "input_ResultCode": code,
            "input_ResultDesc": description,
            "input_ThirdPartyConversationID": payment.reference,
        }
        message = (json.dumps(body).encode(), {"Content-Type": "application/json"})
        self.courier.deliver(payment.callback_url, lambda: message)


def _acknowledged(answer: bytes) -> bool:
    """M-Pesa takes only `output_ResponseCode: "0"` as "we have the result"."""
    try:
        body = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and str(body.get("output_ResponseCode")) == "0"


def _c2b_refusal(body: dict[str, Any]) -> Response | None:
    if body["input_Currency"] != "TZS":
        return _ins("INS-21", "Parameter validations failed. Please try again.", 400)
    if whole_shillings(body["input_Amount"]) is None:
        return _ins("INS-15", "Invalid Amount Used", 400)
    if not _REFERENCE.match(str(body["input_TransactionReference"])):
        return _ins("INS-17", "Invalid Transaction Reference. Length Should Be 1-20.", 400)
    if not is_tz_msisdn(body["input_CustomerMSISDN"]):
        return _ins("INS-2051", "Invalid MSISDN", 400)
    return None


def _query_fields(payment: Payment | None) -> dict[str, str]:
    """An unknown reference is "N/A": not (yet) known, as M-Pesa says of a fresh one."""
    if payment is None:
        return {"output_ResponseTransactionStatus": "N/A"}
    fields = {
        "output_ResponseTransactionStatus": QUERY_STATUSES[payment.settlement],
        "output_ConversationID": payment.key,
    }
    if payment.settlement is Settlement.PAID:
        fields["output_TransactionID"] = payment.receipt
    return fields


def _payment(body: dict[str, Any], callback_url: str) -> Payment:
    msisdn = str(body["input_CustomerMSISDN"])
    return Payment(
        key=operator_id("", 32).lower(),
        reference=str(body["input_ThirdPartyConversationID"]),
        msisdn=msisdn,
        asked=whole_shillings(body["input_Amount"]) or 0,
        scenario=scenario_for(msisdn),
        receipt=operator_id(""),
        callback_url=callback_url,
        aliases=(str(body["input_TransactionReference"]),),
    )
