"""The Stripe fake (localstripe + providers.sandbox.stripe_fake) as a process, and a payer.

The payer does what Stripe.js does in a browser: it posts the card to the fake with the
publishable key and the client secret, never to Malipo.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests
import stripe

SECRET_KEY = "sk_test_malipo"
PUBLISHABLE_KEY = "pk_test_malipo"
WEBHOOK_SECRET = "whsec_malipo_test"

VISA = "4242424242424242"
DECLINED = "4000000000000341"  # attaches, then every charge is declined
THREE_D_SECURE = "4000002500003155"  # asks for authentication
CVC, EXP_MONTH, EXP_YEAR = "737", "11", "2031"


class StripeFake:
    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "providers.sandbox.stripe_fake", "--port", str(port)],
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/js.stripe.com/v3/", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the Stripe fake did not start")

    def settings(self) -> dict[str, str]:
        return {
            "secret_key": SECRET_KEY,
            "publishable_key": PUBLISHABLE_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "api_base": self.url,
            "js_url": f"{self.url}/js.stripe.com/v3/",
        }

    def send_webhooks_to(self, url: str) -> None:
        self._post("/_config/webhooks/malipo", {"url": url, "secret": WEBHOOK_SECRET})

    def pay(self, client_secret: str, number: str = VISA) -> dict:
        """The payer's browser: card details to Stripe, with the publishable key."""
        intent = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/payment_intents/{intent}/_confirm_from_browser",
            data=json.dumps(
                {
                    "key": PUBLISHABLE_KEY,
                    "client_secret": client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {"number": number, "exp_month": EXP_MONTH,
                                 "exp_year": EXP_YEAR, "cvc": CVC},
                    },
                }
            ),
            timeout=10,
        )  # fmt: skip
        return response.json()

    def confirm_setup(self, client_secret: str, number: str = VISA) -> dict:
        """The browser's confirmCardSetup: the card to Stripe, with the publishable key."""
        setup = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/setup_intents/{setup}/confirm",
            data=json.dumps(
                {
                    "key": PUBLISHABLE_KEY,
                    "client_secret": client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {"number": number, "exp_month": EXP_MONTH,
                                 "exp_year": EXP_YEAR, "cvc": CVC},
                    },
                }
            ),
            timeout=10,
        )  # fmt: skip
        return response.json()

    def intents_of(self, customer: str) -> list[dict]:
        page = self._get("/v1/payment_intents?limit=100")
        return [pi for pi in page["data"] if pi.get("customer") == customer]

    def authenticate(self, client_secret: str, success: bool = True) -> dict:
        intent = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}",
            data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}),
            timeout=10,
        )
        return response.json()

    def dispute(self, charge_id: str, amount: int | None = None) -> dict:
        return self._post(f"/_malipo/charges/{charge_id}/dispute", {"amount": amount or ""})

    def close_dispute(self, dispute_id: str, status: str) -> dict:
        return self._post(f"/_malipo/disputes/{dispute_id}/close", {"status": status})

    def refund_at_stripe(self, charge_id: str, amount: int) -> dict:
        """A refund made in Stripe's dashboard, not through Malipo."""
        return self._post("/v1/refunds", {"charge": charge_id, "amount": amount})

    def intent(self, intent_id: str) -> dict:
        return self._get(f"/v1/payment_intents/{intent_id}")

    def events(self, kind: str) -> list[dict]:
        return self._get(f"/v1/events?type={kind}&limit=100")["data"]

    def _post(self, path: str, data: dict) -> dict:
        response = requests.post(f"{self.url}{path}", data=data, auth=(SECRET_KEY, ""), timeout=10)
        return response.json() if response.content else {}

    def _get(self, path: str) -> dict:
        return requests.get(f"{self.url}{path}", auth=(SECRET_KEY, ""), timeout=10).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def signed(body: dict | bytes, timestamp: int | None = None, secret: str = WEBHOOK_SECRET):
    """A webhook body and its Stripe-Signature, made by the stripe library's own signer."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, ts)
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}
