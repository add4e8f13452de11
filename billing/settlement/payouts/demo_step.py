"""The demo's payout step: Stripe's automatic payout of the card top-ups (the fake runs
it on demand), pulled and matched line by line to the ledger by finance."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import requests
from sqlalchemy import func, select

from billing.cards.models import CardCharge
from billing.core.clock import utcnow
from billing.settlement.payouts.report import as_table
from billing.settlement.payouts.service import get_payout, lines_of
from billing.topups.gateways import CARD
from billing.topups.models import Topup, TopupStatus


def payout_step(url: str, runtime, finance_key: str, say: Callable[[str], None]) -> None:
    if CARD not in runtime.gateways.enabled:
        say("  skipped: no Stripe fake here")
        return
    stripe_base = runtime.gateways.adapter(CARD).config.api_base
    secret = runtime.gateways.adapter(CARD).config.secret_key
    _fees_booked(runtime)
    requests.post(f"{stripe_base}/_malipo/payouts", auth=(secret, ""), timeout=10)
    now = utcnow()
    answer = requests.post(
        f"{url}/v1/stripe-payouts",
        json={"since": (now - timedelta(hours=1)).isoformat(),
              "until": (now + timedelta(hours=1)).isoformat()},
        headers={"Authorization": f"Bearer {finance_key}"},
        timeout=60,
    )  # fmt: skip
    say(f"  POST /v1/stripe-payouts → {answer.status_code}")
    for payout in answer.json() if answer.ok else []:
        with runtime.sessions() as session:
            row = get_payout(session, payout["id"])
            rows = lines_of(session, payout["id"])
        for line in as_table(row, rows):
            say("  " + line)
    say("  the CSV: GET /v1/stripe-payouts/{id}/report; exceptions: GET /v1/review-items")


def _fees_booked(runtime, timeout_s: float = 15.0) -> None:
    """An auto-recharge's fee is booked by its webhook, a moment after the credit: the
    payout waits for it (else its charge would rightly show as missing in Malipo)."""
    credited = (
        select(func.count())
        .select_from(Topup)
        .where(Topup.provider == CARD, Topup.status == TopupStatus.SUCCEEDED)
    )
    booked = select(func.count()).select_from(CardCharge)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            if session.execute(booked).scalar_one() >= session.execute(credited).scalar_one():
                return
        time.sleep(0.2)
