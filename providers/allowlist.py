"""Source-address allow-lists, the only callback authentication some operators offer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Where the sandbox simulators post from: the service posts to itself over loopback.
# Deliberately the loopback addresses, not all of 127.0.0.0/8, so a test can forge from
# another local address (127.0.0.2) and see it refused exactly as live.
SANDBOX_SOURCES = ("127.0.0.1/32", "::1/128")


class SourceAllowList:
    """Addresses or CIDR networks; `None` means checking is off (for providers whose
    callbacks are proven otherwise), an empty list refuses every address."""

    def __init__(self, entries: Iterable[str] | None) -> None:
        self._networks = (
            None
            if entries is None
            else tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
        )

    @property
    def enabled(self) -> bool:
        return self._networks is not None

    def allows(self, remote_addr: str | None) -> bool:
        if self._networks is None:
            return True
        if not remote_addr:
            return False
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:a.b.c.d from a dual-stack socket
        return any(address in network for network in self._networks)
