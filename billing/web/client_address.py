"""The real client address behind our own proxies, for source-address allow-lists.

`X-Forwarded-For` is anyone's to write: it counts only when the direct peer is one of
the configured trusted proxies, and then only the nearest hop that is not itself a
trusted proxy (what our outermost proxy saw), never the leftmost hop a caller wrote.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed once per configuration: the resolver runs on every callback."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def within(address: str | None, trusted: Iterable[Network]) -> bool:
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The peer, unless a trusted proxy forwarded for someone; `None` if unreadable."""
    if not within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not within(hop, trusted):
            return hop if _is_address(hop) else None
    return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
