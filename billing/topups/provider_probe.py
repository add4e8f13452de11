"""Whether each live provider can authenticate, for /readyz: the cached result of its
token or session call, refreshed in the background so readiness stays fast.

A provider whose credentials were revoked or whose token URL is unreachable would
otherwise fail every top-up while the service said it was ready.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from providers.base import ProviderAdapter

FRESH_FOR_S = 30.0  # a result younger than this is reported as it is
WAIT_S = 1.0  # how long readiness waits for a refresh before reporting what it has
CHECKING = "checking"


def auth_call(adapter: ProviderAdapter) -> Callable[[], object] | None:
    """The adapter's token (Tigo, Airtel) or session (M-Pesa) call; Selcom signs each
    request with its key and has none."""
    client = getattr(adapter, "client", None)
    cache = getattr(client, "tokens", None) or getattr(client, "sessions", None)
    return cache.get if cache is not None else None


class ProviderProbe:
    def __init__(self, adapter_for: Callable[[str], ProviderAdapter]) -> None:
        self._adapter_for = adapter_for
        self._lock = threading.Lock()
        self._results: dict[str, tuple[float, str]] = {}
        self._running: dict[str, threading.Thread] = {}

    def state(self, code: str) -> str:
        """ "ok", "failed: <error type>", or "checking" while the first call runs."""
        with self._lock:
            checked_at, result = self._results.get(code, (0.0, CHECKING))
            stale = time.monotonic() - checked_at > FRESH_FOR_S
            thread = self._running.get(code)
            if stale and thread is None:
                thread = threading.Thread(target=self._refresh, args=(code,), daemon=True)
                self._running[code] = thread
                thread.start()
        if stale and thread is not None:
            thread.join(WAIT_S)
            with self._lock:
                result = self._results.get(code, (0.0, result))[1]
        return result

    def _refresh(self, code: str) -> None:
        try:
            call = auth_call(self._adapter_for(code))
            if call is not None:
                call()
            result = "ok"
        except Exception as error:  # any failure to authenticate is "down", by its type only
            result = f"failed: {type(error).__name__}"
        with self._lock:
            self._results[code] = (time.monotonic(), result)
            self._running.pop(code, None)
