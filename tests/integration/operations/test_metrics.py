"""/metrics: who may read it, what it counts, and the backlogs it measures at each scrape."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import delete, insert

from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.monitoring.api import allowed
from billing.topups.models import CallbackDelivery, InboxStatus

pytestmark = pytest.mark.integration
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


def scrape(client) -> str:
    response = client.get("/metrics", environ_base=LOCAL)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        found = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if found and ",".join(sorted((found.group(1) or "").split(","))) == wanted:
            return float(found.group(2))
    return None


def test_requests_are_counted_by_route_template_never_by_path(client, tenant):
    client.get("/v1/wallet", headers=tenant.headers)
    client.get(f"/v1/topups/top_{uuid.uuid4().hex}", headers=tenant.headers)
    client.get(f"/no/such/{uuid.uuid4().hex}")
    text = scrape(client)
    assert sample(text, "malipo_http_requests_total",
                  route="/v1/wallet", method="GET", status="200") >= 1  # fmt: skip
    assert sample(text, "malipo_http_requests_total",
                  route="/v1/topups/<topup_id>", method="GET", status="404") >= 1  # fmt: skip
    assert sample(text, "malipo_http_requests_total",
                  route="unmatched", method="GET", status="404") >= 1  # fmt: skip
    assert "top_" not in text and "/no/such" not in text  # ids never become labels
    assert sample(text, "malipo_http_request_duration_seconds_count",
                  route="/v1/wallet", method="GET") >= 1  # fmt: skip


def test_from_outside_the_allowed_networks_it_is_not_there(client):
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert outside.status_code == 404
    assert "malipo_" not in outside.get_data(as_text=True)
    # X-Forwarded-For from a peer that is not our proxy is anyone's to write.
    spoofed = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert spoofed.status_code == 404


def test_with_a_token_only_the_token_opens_it():
    settings = Settings(metrics_token="s3cret-scraper-token")
    assert allowed(settings, "Bearer s3cret-scraper-token", "203.0.113.9", None)
    assert not allowed(settings, "Bearer wrong", "127.0.0.1", None)
    assert not allowed(settings, None, "127.0.0.1", None)  # the network alone is not enough
    assert not allowed(settings, "Bearer s3cret-scraper-token-and-more", "127.0.0.1", None)


def test_behind_our_proxy_the_forwarded_address_counts():
    settings = Settings(trusted_proxies=("10.0.0.0/8",), metrics_networks=("192.168.5.0/24",))
    assert allowed(settings, None, "10.0.0.2", "192.168.5.20")
    assert not allowed(settings, None, "10.0.0.2", "198.51.100.1")
    assert not allowed(settings, None, "192.0.2.1", "192.168.5.20")  # not our proxy


def test_an_api_key_does_not_open_it(client, admin):
    response = client.get(
        "/metrics", headers=admin.headers, environ_base={"REMOTE_ADDR": "10.1.1.1"}
    )
    assert response.status_code == 404


def test_callbacks_are_counted_received_and_rejected_per_provider(client):
    def count(outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "malipo_callbacks_total", {"provider": "mpesa", "outcome": outcome}
        )
        return value or 0.0

    before = {outcome: count(outcome) for outcome in ("received", "verified", "rejected")}
    response = client.post(
        "/v1/callbacks/mpesa", data=b"{not json", content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert count("received") == before["received"] + 1
    assert count("rejected") == before["rejected"] + 1
    assert count("verified") == before["verified"]


def test_reconciliation_lag_is_the_age_of_the_oldest_waiting_callback(client, sessions):
    key = f"metrics-{uuid.uuid4().hex}"
    with sessions.begin() as session:
        session.execute(
            insert(CallbackDelivery.__table__).values(
                provider="mpesa", dedupe_key=key, headers={}, body=b"{}",
                status=InboxStatus.RECEIVED, deliveries=1,
                received_at=utcnow() - timedelta(hours=5),
            )
        )  # fmt: skip
    try:
        text = scrape(client)
        assert sample(text, "malipo_reconciliation_backlog") >= 1
        assert sample(text, "malipo_reconciliation_lag_seconds") >= 5 * 3600
        for age in ("lt_1m", "1m_5m", "5m_30m", "ge_30m"):
            assert sample(text, "malipo_topups_pending", age=age) is not None
        for name in ("rating", "fiscalisation", "outbox"):
            assert sample(text, f"malipo_{name}_lag_seconds") is not None
    finally:
        with sessions.begin() as session:
            session.execute(
                delete(CallbackDelivery.__table__).where(CallbackDelivery.dedupe_key == key)
            )
    assert sample(scrape(client), "malipo_reconciliation_lag_seconds") < 5 * 3600


def test_every_response_carries_a_request_id_and_a_plain_one_offered_is_kept(client):
    fresh = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a9c01d2"}).headers
    assert kept["X-Request-Id"] == "lb-7f3a9c01d2"
    injected = client.get("/healthz", headers={"X-Request-Id": 'x" level=ERROR'}).headers
    assert injected["X-Request-Id"] != 'x" level=ERROR'
