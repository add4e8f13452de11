"""The `billing demo` step for operations: what /metrics shows after the walk-through,
and that a caller outside the allowed networks does not find it."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests

# What an operator looks at first, in the order the demo produced it.
_SHOWN = (
    ("malipo_http_requests_total", "requests answered"),
    ("malipo_callbacks_total", "provider callbacks"),
    ("malipo_reconciliation_lag_seconds", "reconciliation lag (s)"),
    ("malipo_rating_backlog", "usage waiting to be rated"),
    ("malipo_fiscalisation_backlog", "documents waiting for TRA"),
    ("malipo_topups_pending", "pending top-ups"),
)


def metrics_step(http: requests.Session, url: str, say: Callable[[str], None]) -> None:
    response = http.get(f"{url}/metrics", timeout=30)
    say(f"  GET /metrics (from this host) → {response.status_code}, {len(response.text):,} bytes")
    for name, what in _SHOWN:
        total = sum(
            float(value)
            for value in re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", response.text, re.M)
        )
        say(f"    {what:<30} {total:>10,.0f}   ({name})")
    ids = response.headers.get("X-Request-Id")
    say(f"  each answer carries X-Request-Id ({ids}); the jobs it causes log the same id")
    say("  from another network, without MALIPO_METRICS_TOKEN: 404 (see README, Operations)")
