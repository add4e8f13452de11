"""A Stripe webhook that meets a database outage is spooled, acknowledged, and credited
once PostgreSQL is back, like every provider's callback (issue 14)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from billing.ledger.models import Transaction
from billing.topups.models import Topup, TopupStatus
from tests.e2e.own_services import OwnStack, free_port, own_stack
from tests.polling import eventually
from tests.stripe_fake import StripeFake, signed

pytestmark = pytest.mark.e2e


def test_a_webhook_during_a_postgres_outage_is_spooled_then_credited_once(tmp_path):
    fake = StripeFake(free_port(), tmp_path / "stripe.log")
    settings = {"MALIPO_PROVIDER_SETTINGS": json.dumps({"card": fake.settings()})}
    try:
        with own_stack(tmp_path, settings) as stack:
            _spooled_then_credited_once(stack, fake, tmp_path / "spool")
    finally:
        fake.stop()


def _spooled_then_credited_once(stack: OwnStack, fake: StripeFake, spool: Path) -> None:
    created = requests.post(
        f"{stack.url}/v1/topups",
        json={"amount": 7_000_00, "currency": "TZS", "provider": "card"},
        headers=stack.make_tenant(),
        timeout=30,
    ).json()
    intent = fake.pay(created["client_secret"])  # the fake sends no webhook here
    assert intent["status"] == "succeeded"
    event = {
        "id": f"evt_outage_{created['id']}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": intent},
    }
    stack.pg.stop()
    body, signature = signed(event)
    during = requests.post(
        f"{stack.url}/v1/callbacks/stripe", data=body, headers=signature, timeout=30
    )
    assert during.status_code == 200, during.text  # kept on disk: Stripe need not retry
    assert list(spool.iterdir())
    stack.pg.start()
    assert eventually(
        lambda: _status(stack.sessions, created["id"]) is TopupStatus.SUCCEEDED, timeout_s=60
    )
    assert eventually(lambda: not list(spool.iterdir()), timeout_s=20)
    again = requests.post(
        f"{stack.url}/v1/callbacks/stripe", data=body, headers=signed(event)[1], timeout=30
    )
    assert again.status_code == 200
    time.sleep(2)
    with stack.sessions() as session:
        credits = session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.idempotency_key == f"topup:{created['id']}")
        ).scalar_one()
    assert credits == 1


def _status(sessions, topup_id: str):
    try:
        with sessions() as session:
            return session.get(Topup, topup_id).status
    except Exception:  # the database is still coming back
        return None
