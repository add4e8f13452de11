"""The portal's card page against the Stripe fake: a SetupIntent confirmed as Stripe.js
would, the card shown as Stripe reports it (never its number), the auto-recharge rule with
its errors beside the fields, removal (detached at Stripe), CSRF."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from billing import create_app
from billing.cards.models import SavedCard
from billing.core.config import Settings
from tests.integration.invoicing.conftest import free_port
from tests.integration.pages.conftest import csrf_of
from tests.stripe_fake import EXP_MONTH, EXP_YEAR, SECRET_KEY, VISA, StripeFake

pytestmark = pytest.mark.integration
SECRET = re.compile(r'data-secret="([^"]+)"')


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    stripe_fake = StripeFake(free_port(), tmp_path_factory.mktemp("stripe") / "stripe.log")
    yield stripe_fake
    stripe_fake.stop()


@pytest.fixture(scope="module")
def card_app(database_url, fake):
    return create_app(Settings(
        database_url=database_url, testing=True, secret_key="cards",
        provider_settings={"card": fake.settings()},
    ))  # fmt: skip


def _row(sessions, tenant_id: str) -> SavedCard:
    with sessions() as session:
        return session.get(SavedCard, tenant_id)


def test_save_show_rule_and_remove_a_card(card_app, fake, tenant, portal_link, sessions) -> None:
    browser = card_app.test_client()
    assert browser.get(portal_link(tenant.tenant_id)).status_code == 302
    page = browser.get("/portal/card")
    assert page.status_code == 200 and "No card is saved." in page.get_data(as_text=True)
    token = csrf_of(page)
    assert browser.post("/portal/card/setup").status_code == 400  # no CSRF token

    setup = browser.post("/portal/card/setup", data={"csrf_token": token})
    assert setup.status_code == 200
    policy = setup.headers["Content-Security-Policy"]
    assert f"script-src 'self' {fake.url}" in policy and "'unsafe-inline'" not in policy
    text = setup.get_data(as_text=True)
    assert 'data-mode="setup"' in text and "/pay/assets/pay.js" in text
    assert fake.confirm_setup(SECRET.search(text)[1], VISA)["status"] == "succeeded"

    shown = browser.get("/portal/card?saved=1").get_data(as_text=True)
    assert "Visa</strong> •••• 4242" in shown
    assert f"Expires {int(EXP_MONTH):02d}/{EXP_YEAR}" in shown
    assert VISA not in shown

    rule = {"threshold": "10,000", "amount": "50000", "enabled": "on", "csrf_token": token}
    bad = browser.post("/portal/card", data={**rule, "threshold": "ten", "amount": "0"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="e-threshold"' in body and 'id="e-amount"' in body
    over = browser.post("/portal/card", data={**rule, "amount": "999999999"})
    assert over.status_code == 422 and 'id="e-amount"' in over.get_data(as_text=True)
    done = browser.post("/portal/card", data=rule)
    assert done.status_code == 200 and "Saved." in done.get_data(as_text=True)
    row = _row(sessions, tenant.tenant_id)
    assert (row.threshold_minor, row.recharge_minor, row.enabled) == (10_000_00, 50_000_00, True)
    off = browser.post("/portal/card", data={k: v for k, v in rule.items() if k != "enabled"})
    assert off.status_code == 200 and _row(sessions, tenant.tenant_id).enabled is False

    method_id = row.payment_method_id
    removed = browser.post("/portal/card/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    row = _row(sessions, tenant.tenant_id)
    assert (row.payment_method_id, row.last4, row.enabled, row.setup_intent_id) == (
        None, None, False, None,
    )  # fmt: skip
    detached = requests.get(
        f"{fake.url}/v1/payment_methods/{method_id}", auth=(SECRET_KEY, ""), timeout=10
    ).json()
    assert detached.get("customer") is None  # Stripe can no longer charge it for us
    after = browser.get("/portal/card").get_data(as_text=True)
    assert "No card is saved." in after  # and reading the SetupIntent back does not revive it
    refused = browser.post("/portal/card", data=rule)
    assert refused.status_code == 422 and "not set up" in refused.get_data(as_text=True)


def test_without_cards_the_page_says_so(app, tenant, portal_link) -> None:
    browser = app.test_client()
    browser.get(portal_link(tenant.tenant_id))
    page = browser.get("/portal/card")
    assert page.status_code == 200
    assert "Card payments are not available here." in page.get_data(as_text=True)


def test_the_topup_page_offers_the_card_only_where_cards_are_on(
    app, card_app, tenant, portal_link
) -> None:
    offers = {}
    for name, flask_app in (("off", app), ("on", card_app)):
        browser = flask_app.test_client()
        browser.get(portal_link(tenant.tenant_id))
        page = browser.get("/portal/topup")
        assert page.status_code == 200
        offers[name] = "Top up automatically from a card" in page.get_data(as_text=True)
    assert offers == {"off": False, "on": True}


def _lock_probe(superuser_sessions, tenant_id: str) -> int | str:
    """From another transaction: the tenant's saved-card rows locked at once, or "locked"
    when a lock of ours holds the row."""
    with superuser_sessions() as other:
        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
        try:
            return len(
                other.execute(
                    text("SELECT tenant_id FROM card_saved WHERE tenant_id = :t FOR UPDATE"),
                    {"t": tenant_id},
                ).all()
            )
        except OperationalError:
            return "locked"
        finally:
            other.rollback()


def test_reading_the_card_back_asks_stripe_before_locking_the_row(
    card_app, fake, tenant, superuser_sessions
) -> None:
    """No call to Stripe holds a row lock of ours: while Stripe is being asked, another
    transaction can lock the tenant's saved-card row at once (it could not when the row
    was locked first)."""
    client = card_app.test_client()
    started = client.post("/v1/saved-card", headers=tenant.headers)
    assert started.status_code == 201
    fake.confirm_setup(started.get_json()["client_secret"], VISA)
    api = card_app.extensions["malipo"].gateways.adapter("card").api
    asked, probes = api.retrieve_setup_intent, []

    def probing(setup_intent_id: str) -> dict:
        probes.append(_lock_probe(superuser_sessions, tenant.tenant_id))
        return asked(setup_intent_id)

    api.retrieve_setup_intent = probing
    try:
        shown = client.get("/v1/saved-card", headers=tenant.headers)
    finally:
        del api.retrieve_setup_intent
    assert shown.status_code == 200 and shown.get_json()["last4"] == "4242"
    assert probes == [1]


def test_starting_a_setup_asks_stripe_before_locking_the_row(
    card_app, fake, tenant, superuser_sessions
) -> None:
    """A second setup asks Stripe for a SetupIntent while the tenant's saved-card row
    stays free: another transaction locks it at once (the row was locked first before)."""
    client = card_app.test_client()
    assert client.post("/v1/saved-card", headers=tenant.headers).status_code == 201
    api = card_app.extensions["malipo"].gateways.adapter("card").api
    asked, probes = api.create_setup_intent, []

    def probing(params: dict, key: str) -> dict:
        probes.append(_lock_probe(superuser_sessions, tenant.tenant_id))
        return asked(params, key)

    api.create_setup_intent = probing
    try:
        again = client.post("/v1/saved-card", headers=tenant.headers)
    finally:
        del api.create_setup_intent
    assert again.status_code == 201
    assert probes == [1]


def test_two_first_setups_at_once_make_one_customer_and_one_row(
    card_app, fake, tenant, sessions
) -> None:
    """Two first setups are inside Stripe at the same time (neither waits for the other):
    one Stripe customer (the same idempotency key), one row, naming one of the two
    SetupIntents. (Each locking a row that did not exist yet, both inserted it before:
    the second failed on the primary key.)"""
    api = card_app.extensions["malipo"].gateways.adapter("card").api
    asked, both_inside = api.create_customer, threading.Barrier(2)

    def meeting(params: dict, key: str) -> dict:
        both_inside.wait(timeout=10)  # broken (and the test failed) if one waits for the other
        return asked(params, key)

    answers: list = []

    def start() -> None:
        answers.append(card_app.test_client().post("/v1/saved-card", headers=tenant.headers))

    api.create_customer = meeting
    try:
        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        del api.create_customer
    assert [answer.status_code for answer in answers] == [201, 201]
    bodies = [answer.get_json() for answer in answers]
    assert bodies[0]["customer_id"] == bodies[1]["customer_id"]
    row = _row(sessions, tenant.tenant_id)
    assert row.customer_id == bodies[0]["customer_id"]
    assert row.setup_intent_id in {body["setup_intent_id"] for body in bodies}
