"""The demo's card step: a card top-up paid in the (simulated) browser, Stripe's fee
booked, then a saved card recharging the wallet by itself.

Stripe is the fake of the tests (localstripe, extended by providers.sandbox.stripe_fake),
started for the demo's length on a port of its own; without it (a production install
has no localstripe) the step says so and is skipped.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from sqlalchemy import select

from billing.cards.autorecharge import after_wallet_debit
from billing.cards.models import CardCharge
from billing.core.config import Settings

SECRET, PUBLISHABLE, WEBHOOK = "sk_test_demo", "pk_test_demo", "whsec_demo"
CARD = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}


@contextmanager
def stripe_fake(settings: Settings) -> Iterator[Settings]:
    """The settings with card payments pointed at a Stripe fake started for the demo."""
    if importlib.util.find_spec("localstripe") is None:
        yield settings
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-m", "providers.sandbox.stripe_fake", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/js.stripe.com/v3/", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        card = {
            "secret_key": SECRET,
            "publishable_key": PUBLISHABLE,
            "webhook_secret": WEBHOOK,
            "api_base": base,
            "js_url": f"{base}/js.stripe.com/v3/",
        }
        yield dataclasses.replace(
            settings, provider_settings={**settings.provider_settings, "card": card}
        )
    finally:
        process.terminate()
        process.wait(10)


def card_step(
    url: str, runtime, call: Callable[..., dict], tenant_key: str, tenant_id: str, say
) -> None:
    if "card" not in runtime.gateways.enabled:
        say("  skipped: no Stripe fake here (pip install localstripe; it is a dev dependency)")
        return
    stripe_base = runtime.gateways.adapter("card").config.api_base
    requests.post(
        f"{stripe_base}/_config/webhooks/demo",
        data={"url": f"{url}/v1/callbacks/stripe", "secret": WEBHOOK},
        auth=(SECRET, ""),
        timeout=10,
    )
    topup = call(
        "POST",
        "/v1/topups",
        tenant_key,
        {"amount": 25_000_00, "currency": "TZS", "provider": "card"},
    )
    say(f"  PaymentIntent {topup['provider_ref']}; the payer's page: {topup['pay_url'][:60]}…")
    _browser(stripe_base, f"/v1/payment_intents/{topup['provider_ref']}/_confirm_from_browser",
             topup["client_secret"])  # fmt: skip
    topup = _settled(call, tenant_key, topup["id"])
    with runtime.sessions() as session:
        charge = session.execute(
            select(CardCharge).where(CardCharge.topup_id == topup["id"])
        ).scalar()
    figures = (
        f"gross {charge.gross_minor / 100:,.2f}, Stripe fee {charge.fee_minor / 100:,.2f},"
        f" net {charge.net_minor / 100:,.2f}"
        if charge
        else "fee not booked yet"
    )
    say(f"  card top-up {topup['id']}: {topup['status']} ({figures})")

    setup = call("POST", "/v1/saved-card", tenant_key)
    _browser(stripe_base, f"/v1/setup_intents/{setup['setup_intent_id']}/confirm",
             setup["client_secret"])  # fmt: skip
    balance = call("GET", "/v1/wallet", tenant_key, quiet=True)["balance"]
    rule = call(
        "PUT",
        "/v1/saved-card/auto-recharge",
        tenant_key,
        {"threshold": balance + 1_000_00, "amount": 20_000_00},
    )
    say(
        f"  saved {rule['brand']} •••• {rule['last4']}; recharge {rule['amount'] / 100:,.2f}"
        f" when below {rule['threshold'] / 100:,.2f}"
    )
    with runtime.unit_of_work() as session:  # what a debit below the threshold does
        recharge = after_wallet_debit(session, tenant_id)
    recharged = _settled(call, tenant_key, recharge) if recharge else {"status": "not claimed"}
    after = call("GET", "/v1/wallet", tenant_key, quiet=True)["balance"]
    say(
        f"  auto-recharge {recharge}: {recharged['status']};"
        f" balance {balance / 100:,.2f} → {after / 100:,.2f}"
    )


def _browser(stripe_base: str, path: str, client_secret: str) -> None:
    """What Stripe.js does in the payer's browser: the card to Stripe, never to Malipo."""
    requests.post(
        f"{stripe_base}{path}",
        data=json.dumps(
            {
                "key": PUBLISHABLE,
                "client_secret": client_secret,
                "payment_method_data": {"type": "card", "card": CARD},
            }
        ),
        timeout=10,
    )


def _settled(call: Callable[..., dict], key: str, topup_id: str) -> dict:
    topup = {"status": "pending"}
    for _ in range(100):
        topup = call("GET", f"/v1/topups/{topup_id}", key, quiet=True)
        if topup["status"] != "pending":
            return topup
        time.sleep(0.2)
    return topup
