"""Source-address allow-lists, the only callback authentication some operators offer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class SourceAllowList:
    """Addresses or CIDR networks; `None` entries list means checking is switched off."""

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
        return any(address in network for network in self._networks)
