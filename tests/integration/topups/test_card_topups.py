"""Card top-ups at the edge: refused input, Stripe away, and what a tenant may see."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION
from billing.topups.models import Topup

pytestmark = pytest.mark.integration


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture(scope="module")
def card_app(database_url):
    card = {
        "secret_key": "sk_test_x",
        "publishable_key": "pk_test_x",
        "webhook_secret": "whsec_x",
        "api_base": f"http://127.0.0.1:{_dead_port()}",
        "max_network_retries": 0,
        "timeout_s": 2.0,
    }
    return create_app(
        Settings(
            database_url=database_url,
            testing=True,
            secret_key="test",
            provider_settings={"card": card},
        )
    )


def test_stripe_away_is_503_and_nothing_is_stored(card_app, make_tenant, sessions):
    tenant = make_tenant()
    answer = card_app.test_client().post(
        "/v1/topups",
        json={"amount": 5_000_00, "currency": "TZS", "provider": "card"},
        headers=tenant.headers,
    )
    assert answer.status_code == 503, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    with sessions() as session:
        count = session.execute(
            select(func.count()).select_from(Topup).where(Topup.tenant_id == tenant.tenant_id)
        ).scalar_one()
    assert count == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 49, "currency": "TZS", "provider": "card"}, "amount"),
        ({"amount": 5_000_00, "currency": "USD", "provider": "card"}, "currency"),  # TZS wallet
        (
            {"amount": 5_000_00, "currency": "TZS", "method": "card", "provider": "mpesa"},
            "provider",
        ),
        (
            {"amount": 5_000_00, "currency": "TZS", "method": "mobile_money", "provider": "card"},
            "provider",
        ),
    ],
)
def test_refused_card_requests_name_the_field(card_app, make_tenant, body, field):
    tenant = make_tenant()
    answer = card_app.test_client().post("/v1/topups", json=body, headers=tenant.headers)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]


def test_without_card_settings_a_card_top_up_is_refused_on_provider(client, tenant):
    answer = client.post(
        "/v1/topups",
        json={"amount": 5_000_00, "currency": "TZS", "provider": "card"},
        headers=tenant.headers,
    )
    assert answer.status_code == 422
    assert "provider" in answer.get_json()["errors"]


def test_the_stripe_webhook_endpoint_refuses_when_cards_are_off(client):
    answer = client.post(
        "/v1/callbacks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=0"}
    )
    assert answer.status_code == 404


def test_card_settings_are_never_shown(card_app):
    settings = card_app.extensions[EXTENSION].settings
    assert "sk_test_x" not in repr(settings)
    adapter = card_app.extensions[EXTENSION].gateways.adapter("card")
    assert "sk_test_x" not in repr(adapter.config) and "whsec_x" not in repr(adapter.config)
