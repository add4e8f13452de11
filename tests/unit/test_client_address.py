"""The real client address: X-Forwarded-For counts only when a trusted proxy sent it."""

from __future__ import annotations

from billing.web.client_address import client_address, networks

PROXIES = networks(("10.0.0.0/8",))


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_address("203.0.113.9", "127.0.0.1", networks(())) == "203.0.113.9"


def test_a_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert client_address("127.0.0.2", "41.222.176.143", PROXIES) == "127.0.0.2"


def test_a_trusted_proxy_forwards_the_address_it_saw():
    assert client_address("10.1.2.3", "41.222.176.143", PROXIES) == "41.222.176.143"


def test_the_nearest_untrusted_hop_counts_not_what_the_caller_claims_first():
    # The caller wrote 41.222.176.143 itself; our proxy appended the address it saw.
    chain = "41.222.176.143, 198.51.100.7, 10.9.9.9"
    assert client_address("10.1.2.3", chain, PROXIES) == "198.51.100.7"


def test_a_trusted_proxy_without_forwarded_for_is_the_client():
    assert client_address("10.1.2.3", None, PROXIES) == "10.1.2.3"


def test_garbage_in_forwarded_for_is_not_an_address():
    assert client_address("10.1.2.3", "not-an-ip", PROXIES) is None
