"""The Stripe adapter: card top-ups behind the common interface (registry code `card`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from providers.base import (
    CallbackAck,
    CallbackEvent,
    Capabilities,
    CollectionRequest,
    Mapped,
    MsisdnFormat,
    ProviderResult,
    ProviderStatus,
    RefundRequest,
    StatusQuery,
    not_sent,
    unknown_outcome,
)
from providers.outcomes import refuses_bad_input
from providers.settings import config_from_settings
from providers.stripe import callbacks, wire
from providers.stripe.client import StripeApi, StripeConfig

CONFIG = StripeConfig  # for providers.settings.missing_settings


class StripeAdapter:
    def __init__(self, code: str, config: StripeConfig, api: StripeApi | None = None) -> None:
        self.code = code
        self.config = config
        self.api = api or StripeApi(config)
        self.capabilities = Capabilities(
            signs_callbacks=True,
            supports_status_query=True,
            supports_refund=True,
            supports_partial_refund=True,
            sync_result=False,
            msisdn_format=MsisdnFormat.E164_NO_PLUS,  # unused: cards have no payer number
            currency="TZS",  # and USD: see wire.CURRENCIES
            min_amount_minor=50,  # Stripe's smallest USD charge (0.50)
            max_amount_minor=99_999_999,  # Stripe's largest amount field
        )

    def normalize_msisdn(self, number: str) -> str:
        return number

    def map_status(self, raw_code: str) -> Mapped:
        return wire.map_any(raw_code)

    @refuses_bad_input
    def initiate_collection(self, request: CollectionRequest) -> ProviderResult:
        """A PaymentIntent for the top-up; the payer confirms it in the browser."""
        params = self._intent_params(request)
        return self._guard(
            lambda: self.result(
                self.api.create_payment_intent(params, f"malipo-pi-{request.topup_id}")
            )
        )

    def charge_saved_card(
        self, request: CollectionRequest, customer: str, payment_method: str
    ) -> ProviderResult:
        """An off-session PaymentIntent on a saved card, confirmed at once (auto-recharge).
        A decline or a demand for authentication is a plain failure: never retried here."""
        params = {
            **self._intent_params(request),
            "customer": customer,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
        }
        params.pop("payment_method_types", None)
        try:
            return self.result(
                self.api.create_payment_intent(params, f"malipo-pi-{request.topup_id}")
            )
        except stripe.CardError as error:
            intent = (error.json_body or {}).get("error", {}).get("payment_intent") or {}
            return ProviderResult(
                provider=self.code,
                status=ProviderStatus.FAILED,
                provider_ref=intent.get("id"),
                reason_code=error.code or "card_declined",
                reason=error.user_message or str(error),
            )
        except stripe.StripeError as error:
            return self._failure(error)

    def _intent_params(self, request: CollectionRequest) -> dict[str, Any]:
        return {
            "amount": wire.to_stripe_amount(request.amount_minor, request.currency),
            "currency": request.currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {
                "topup_id": request.topup_id,
                "reference": request.reference,
                **request.metadata,
            },
        }

    def query_status(self, query: StatusQuery) -> ProviderResult:
        if not query.provider_ref:
            return unknown_outcome(self.code, "no_intent", "no PaymentIntent id stored")
        return self._guard(
            lambda: self.result(self.api.retrieve_payment_intent(query.provider_ref))
        )

    def result(self, intent: Mapping[str, Any]) -> ProviderResult:
        mapped = wire.map_payment_intent(intent)
        code, message = wire.decline_reason(intent) if mapped is wire.DECLINED else (None, None)
        currency = str(intent.get("currency") or "").upper() or None
        amount = intent.get("amount")
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            unknown_status=mapped.unknown_status,
            provider_ref=intent.get("id"),
            provider_txn_id=wire.latest_charge_id(intent)
            if mapped.status is ProviderStatus.SUCCEEDED
            else None,
            amount_minor=wire.from_stripe_amount(amount, currency) if amount and currency else None,
            currency=currency,
            reason_code=code or intent.get("status"),
            reason=message or mapped.description,
            raw={
                "status": intent.get("status"),
                "client_secret": intent.get("client_secret"),
                "metadata": dict(intent.get("metadata") or {}),
                "latest_charge": wire.latest_charge_id(intent),
            },
        )

    @refuses_bad_input
    def refund(self, request: RefundRequest) -> ProviderResult:
        params = {
            "charge": request.provider_txn_id,
            "amount": wire.to_stripe_amount(request.amount_minor, request.currency),
            "metadata": {"malipo_refund": request.refund_reference},
        }
        key = f"malipo-refund-{request.refund_reference}"
        return self._guard(lambda: self._refunded(self.api.create_refund(params, key)))

    def _refunded(self, refund: Mapping[str, Any]) -> ProviderResult:
        mapped = wire.REFUND.get(str(refund.get("status"))) or wire.unknown(
            str(refund.get("status"))
        )
        return ProviderResult(
            provider=self.code,
            status=mapped.status,
            unknown_status=mapped.unknown_status,
            provider_ref=refund.get("charge"),
            provider_txn_id=refund.get("id"),
            reason_code=refund.get("status"),
            reason=mapped.description,
        )

    def _guard(self, call) -> ProviderResult:
        try:
            return call()
        except stripe.StripeError as error:
            return self._failure(error)

    def _failure(self, error: stripe.StripeError) -> ProviderResult:
        if isinstance(error, stripe.APIConnectionError):  # may or may not have arrived
            return unknown_outcome(self.code, "no_answer", str(error)[:300])
        if isinstance(error, stripe.AuthenticationError | stripe.RateLimitError):
            return not_sent(self.code, type(error).__name__, str(error)[:300])
        if (error.http_status or 500) >= 500:
            return unknown_outcome(self.code, f"http_{error.http_status}", str(error)[:300])
        return ProviderResult(
            provider=self.code,
            status=ProviderStatus.FAILED,
            reason_code=error.code or f"http_{error.http_status}",
            reason=(error.user_message or str(error))[:300],
        )

    def parse_callback(
        self, headers: Mapping[str, str], raw_body: bytes, remote_addr: str | None
    ) -> CallbackEvent:
        return callbacks.parse_callback(headers, raw_body, provider=self.code, config=self.config)

    def callback_ack(self, event: CallbackEvent | None, ok: bool) -> CallbackAck:
        return callbacks.callback_ack(event, ok)


def build(code: str, settings: Mapping[str, Any], session: Any = None) -> StripeAdapter:
    return StripeAdapter(code, config_from_settings(StripeConfig, settings))
