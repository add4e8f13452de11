# ruff: noqa: F401, F811 (module-scoped fixtures imported by name)
"""Saved cards and auto-recharge through `billing serve`, a worker and the Stripe fake."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from billing.cards.autorecharge import after_wallet_debit
from billing.cards.models import SavedCard
from billing.core.money import Currency
from billing.events.models import PlatformEvent
from billing.ledger.postings import ADJUSTMENTS, USAGE_REVENUE, WALLET, Posting
from billing.ledger.service import post_transaction
from billing.topups.models import Topup, TopupStatus
from tests.e2e.cards_services import (  # the fixtures
    card_env,
    card_url,
    card_worker,
    fake,
    logs,
    service,
)
from tests.e2e.test_cards_e2e import balance
from tests.polling import eventually
from tests.stripe_fake import DECLINED

pytestmark = pytest.mark.e2e
TZS = Currency("TZS")


def save_card(service: str, fake, tenant, number: str) -> dict:
    started = requests.post(f"{service}/v1/saved-card", headers=tenant.headers, timeout=30)
    assert started.status_code == 201, started.text
    setup = started.json()
    assert fake.confirm_setup(setup["client_secret"], number)["status"] == "succeeded"
    return setup


def fund(sessions, tenant_id: str, amount: int) -> None:
    with sessions() as session, session.begin():
        post_transaction(
            session,
            tenant_id=tenant_id,
            idempotency_key=f"fund:{tenant_id}",
            kind="adjustment",
            postings=[Posting(WALLET, TZS, amount), Posting(ADJUSTMENTS, TZS, -amount)],
        )


def card_topups(sessions, tenant_id: str) -> list[Topup]:
    with sessions() as session:
        return list(
            session.execute(
                select(Topup).where(Topup.tenant_id == tenant_id, Topup.provider == "card")
            ).scalars()
        )


def test_twenty_concurrent_debits_crossing_the_threshold_make_one_charge(
    service, fake, sessions, make_tenant
):
    tenant = make_tenant()
    setup = save_card(service, fake, tenant, "4242424242424242")
    rule = requests.put(
        f"{service}/v1/saved-card/auto-recharge",
        json={"threshold": 1_000_00, "amount": 5_000_00},
        headers=tenant.headers,
        timeout=30,
    )
    assert rule.status_code == 200, rule.text
    assert (rule.json()["brand"], rule.json()["last4"], rule.json()["saved"]) == (
        "visa",
        "4242",
        True,
    )
    fund(sessions, tenant.tenant_id, 2_000_00)
    barrier = threading.Barrier(20)
    errors = []

    def debit(n: int) -> None:
        try:
            barrier.wait()
            with sessions() as session, session.begin():
                post_transaction(
                    session,
                    tenant_id=tenant.tenant_id,
                    idempotency_key=f"usage:{tenant.tenant_id}:{n}",
                    kind="usage",
                    postings=[Posting(WALLET, TZS, -60_00), Posting(USAGE_REVENUE, TZS, 60_00)],
                )
                after_wallet_debit(session, tenant.tenant_id)  # as the debit path would
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert balance(sessions, tenant.tenant_id) == 2_000_00 - 20 * 60_00
    credited = eventually(
        lambda: [
            t for t in card_topups(sessions, tenant.tenant_id) if t.status is TopupStatus.SUCCEEDED
        ],
        timeout_s=30,
    )
    assert len(credited) == 1 and credited[0].amount_minor == 5_000_00
    time.sleep(5)  # sweeps come round: nothing more is charged
    assert len(card_topups(sessions, tenant.tenant_id)) == 1
    assert len(fake.intents_of(setup["customer_id"])) == 1
    assert balance(sessions, tenant.tenant_id) == 2_000_00 - 20 * 60_00 + 5_000_00
    with sessions() as session:
        assert session.get(SavedCard, tenant.tenant_id).pending_topup_id is None


def test_a_saved_card_declined_off_session_notifies_and_is_not_retried(
    service, fake, sessions, make_tenant
):
    tenant = make_tenant()
    setup = save_card(service, fake, tenant, DECLINED)
    rule = requests.put(
        f"{service}/v1/saved-card/auto-recharge",
        json={"threshold": 1_000_00, "amount": 5_000_00},
        headers=tenant.headers,
        timeout=30,
    )
    assert rule.status_code == 200, rule.text
    # The empty wallet is below the threshold: the worker's sweep finds the crossing.
    failed = eventually(
        lambda: [
            t for t in card_topups(sessions, tenant.tenant_id) if t.status is TopupStatus.FAILED
        ],
        timeout_s=30,
    )
    assert len(failed) == 1 and failed[0].failure_code == "card_declined"
    saved = eventually(
        lambda: (row := _saved(sessions, tenant.tenant_id)).last_failure and row, timeout_s=10
    )
    assert saved.last_failure.startswith("card_declined")
    time.sleep(6)  # three sweeps later: still the one attempt
    assert len(card_topups(sessions, tenant.tenant_id)) == 1
    assert len(fake.intents_of(setup["customer_id"])) == 1
    with sessions() as session:
        notices = session.execute(
            select(func.count())
            .select_from(PlatformEvent)
            .where(
                PlatformEvent.tenant_id == tenant.tenant_id,
                PlatformEvent.type == "card.auto_recharge_failed",
            )
        ).scalar_one()
    assert notices == 1
    shown = requests.get(f"{service}/v1/saved-card", headers=tenant.headers, timeout=30).json()
    assert shown["last_failure"].startswith("card_declined") and shown["pending_topup_id"] is None


def _saved(sessions, tenant_id: str) -> SavedCard:
    with sessions() as session:
        return session.get(SavedCard, tenant_id)


def test_another_tenant_has_no_saved_card_and_no_setup_without_a_key(service, make_tenant):
    tenant = make_tenant()
    assert (
        requests.get(f"{service}/v1/saved-card", headers=tenant.headers, timeout=30).status_code
        == 404
    )
    assert requests.post(f"{service}/v1/saved-card", timeout=30).status_code == 401
