"""Access tokens and sessions, cached and renewed before they lapse.

Airtel tokens have been seen to live 180 s and M-Pesa sessions take time to go live
(providers.md §9.3), so fetching per call is slow and fetching at expiry races it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenCache:
    """Holds one token; `fetch` returns (token, lifetime in seconds)."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        margin_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin_s = margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                token, lifetime_s = self._fetch()
                self._token = token
                self._renew_at = self._clock() + max(lifetime_s - self._margin_s, 0.0)
            return self._token

    def invalidate(self) -> None:
        """Forget the token, e.g. after the provider answers 401."""
        with self._lock:
            self._token = None
