"""Calls to Stripe through the official library, one `StripeClient` per adapter.

Every POST carries an idempotency key of ours (Stripe replays the first answer for a
repeated key, so a retry after a lost answer never makes a second PaymentIntent or
refund); GETs are idempotent by nature and carry none. Objects come back as plain dicts,
on a shared keep-alive pool (`providers.stripe.transport`): a GET is sent straight on
that pool with the library's headers, and only an answer that is not an object (an
error, no answer) is asked again through `raw_request`, for the library's retries and
the same errors as a typed call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import stripe

from providers.stripe.transport import Urllib3Client


@dataclass(frozen=True, kw_only=True)
class StripeConfig:
    secret_key: str
    publishable_key: str = ""
    webhook_secret: str = ""
    # Stripe's own hosts unless pointed elsewhere (tests and the demo: localstripe).
    api_base: str | None = None
    js_url: str = "https://js.stripe.com/v3/"
    webhook_tolerance_s: int = 300  # stripe.Webhook.DEFAULT_TOLERANCE
    timeout_s: float = 10.0
    max_network_retries: int = 2

    LIVE_REQUIRED = ("publishable_key", "webhook_secret")

    def __repr__(self) -> str:  # keys are secrets: never in a log line
        return f"StripeConfig(api_base={self.api_base!r})"


class StripeApi:
    def __init__(self, config: StripeConfig) -> None:
        base = {"api": config.api_base} if config.api_base else None
        self._http = Urllib3Client.from_environment(config.timeout_s, config.api_base)
        self.client = stripe.StripeClient(
            config.secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=config.max_network_retries,
            http_client=self._http,
        )
        self._api_base = (config.api_base or stripe.DEFAULT_API_BASE).rstrip("/")
        self._headers = {  # what the library sends with a GET, computed once
            "Authorization": f"Bearer {config.secret_key}",
            "Stripe-Version": stripe.api_version,
            "User-Agent": f"Stripe/v1 PythonBindings/{stripe.VERSION}",
            "X-Stripe-Client-User-Agent": json.dumps(
                {"bindings_version": stripe.VERSION, "lang": "python", "httplib": "urllib3"}
            ),
        }

    @staticmethod
    def _options(key: str | None) -> Any:
        return {"idempotency_key": key} if key else None

    def create_payment_intent(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self.client.v1.payment_intents.create(params, self._options(key)).to_dict()

    def _get(self, path: str, expand: list[str] | None = None) -> dict[str, Any]:
        """One object by id, as Stripe sent it (errors raised as by a typed call)."""
        found = self._get_answered(path, expand)
        if found is not None:
            return found
        params: Any = {"expand": expand} if expand else {}
        return self.client.raw_request("get", path, **params).data

    def _get_answered(self, path: str, expand: list[str] | None) -> dict[str, Any] | None:
        """The GET sent straight on the library's own pool, with its headers: a 200 with a
        JSON object is the object. Anything else (no answer, an error status, a body that
        is not an object) is None, and the library asks again by its own rules (retries,
        typed errors). The library's bookkeeping around a call (a client user agent built
        for every request, its log calls, a response object) made a webhook's re-read
        cost 0.43 ms of CPU, 0.26 ms without; GETs are idempotent: asking twice on a
        failure changes nothing."""
        query = "&".join(f"expand[{n}]={quote_plus(field)}" for n, field in enumerate(expand or ()))
        url = f"{self._api_base}{path}" + (f"?{query}" if query else "")
        try:
            body, status, _headers = self._http.request("get", url, self._headers)
            found = json.loads(body) if status == 200 else None
        except (stripe.APIConnectionError, ValueError):
            return None
        return found if isinstance(found, dict) and "error" not in found else None

    def retrieve_payment_intent(
        self, intent_id: str, expand: list[str] | None = None
    ) -> dict[str, Any]:
        return self._get(f"/v1/payment_intents/{_quoted(intent_id)}", expand)

    def retrieve_charge(self, charge_id: str, expand: list[str] | None = None) -> dict[str, Any]:
        return self._get(f"/v1/charges/{_quoted(charge_id)}", expand)

    def retrieve_balance_transaction(self, txn_id: str) -> dict[str, Any]:
        return self._get(f"/v1/balance_transactions/{_quoted(txn_id)}")

    def retrieve_dispute(self, dispute_id: str) -> dict[str, Any]:
        return self._get(f"/v1/disputes/{_quoted(dispute_id)}")

    def list_refunds(self, charge_id: str) -> list[dict[str, Any]]:
        page = self.client.v1.refunds.list({"charge": charge_id, "limit": 100})
        return [refund.to_dict() for refund in page.data]

    def create_refund(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self.client.v1.refunds.create(params, self._options(key)).to_dict()  # type: ignore[arg-type]

    def create_customer(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self.client.v1.customers.create(params, self._options(key)).to_dict()  # type: ignore[arg-type]

    def create_setup_intent(self, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self.client.v1.setup_intents.create(params, self._options(key)).to_dict()  # type: ignore[arg-type]

    def retrieve_setup_intent(self, setup_id: str) -> dict[str, Any]:
        return self.client.v1.setup_intents.retrieve(setup_id).to_dict()

    def retrieve_payment_method(self, method_id: str) -> dict[str, Any]:
        return self.client.v1.payment_methods.retrieve(method_id).to_dict()

    def detach_payment_method(self, method_id: str) -> dict[str, Any]:
        """The card no longer belongs to the customer: it cannot be charged again."""
        return self.client.v1.payment_methods.detach(method_id).to_dict()

    def list_payouts(self, created: dict[str, int], limit: int = 100) -> list[dict[str, Any]]:
        """Payouts created in a range (`{"gte": unix, "lt": unix}`), every page."""
        page = self.client.v1.payouts.list({"created": created, "limit": limit})  # type: ignore[typeddict-item]
        return [payout.to_dict() for payout in page.auto_paging_iter()]

    def retrieve_payout(self, payout_id: str) -> dict[str, Any]:
        return self.client.v1.payouts.retrieve(payout_id).to_dict()

    def list_payout_transactions(self, payout_id: str) -> list[dict[str, Any]]:
        """The balance transactions an automatic payout settled (its own among them)."""
        page = self.client.v1.balance_transactions.list({"payout": payout_id, "limit": 100})
        return [txn.to_dict() for txn in page.auto_paging_iter()]


def _quoted(object_id: str) -> str:
    """An id as one path segment, as the typed services send it."""
    return quote_plus(object_id)
