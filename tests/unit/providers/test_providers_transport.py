"""Transport: timeouts after sending are NoAnswer, refusals before sending are NotSent."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from providers.tokens import TokenCache
from providers.transport import NoAnswer, NotSent, Timeouts, send

FAST = Timeouts(connect_s=1.0, read_s=0.3)


def test_reply_json_keeps_amounts_out_of_floats(fake_provider):
    fake_provider.route("GET", "/x", 200, {"amount": 1000.5})
    reply = send(requests.Session(), "GET", fake_provider.url + "/x", timeouts=FAST)
    assert reply.status == 200
    assert reply.body == {"amount": Decimal("1000.5")}


def test_non_json_reply_has_no_body(fake_provider):
    fake_provider.route("GET", "/x", 502, b"<html>bad gateway</html>")
    reply = send(requests.Session(), "GET", fake_provider.url + "/x", timeouts=FAST)
    assert reply.status == 502
    assert reply.body is None


def test_server_sleeping_past_the_read_timeout_is_no_answer(fake_provider):
    fake_provider.route("POST", "/slow", 200, {"ok": True}, delay_s=1.0)
    with pytest.raises(NoAnswer):
        send(requests.Session(), "POST", fake_provider.url + "/slow", timeouts=FAST, json_body={})
    assert len(fake_provider.calls("/slow")) == 1  # it was sent


def test_refused_connection_is_not_sent(refused_url):
    with pytest.raises(NotSent):
        send(requests.Session(), "POST", refused_url + "/x", timeouts=FAST, json_body={})


def test_token_cache_renews_before_expiry_and_after_invalidate():
    now = [0.0]
    issued = []

    def fetch():
        issued.append(f"t{len(issued)}")
        return issued[-1], 100.0

    cache = TokenCache(fetch, margin_s=30.0, clock=lambda: now[0])
    assert cache.get() == "t0"
    now[0] = 69.0
    assert cache.get() == "t0"
    now[0] = 70.0
    assert cache.get() == "t1"
    cache.invalidate()
    assert cache.get() == "t2"
