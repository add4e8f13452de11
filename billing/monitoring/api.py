"""GET /metrics: Prometheus text format, for operators only.

Who may read it: with `MALIPO_METRICS_TOKEN` set, a caller presenting it as a bearer
token (compared in constant time), from anywhere; without one, callers from
`MALIPO_METRICS_NETWORKS` (default: this host only), the address found as for callback
allow-lists (X-Forwarded-For believed from `MALIPO_TRUSTED_PROXIES` only). An API key
never opens it: the figures span every tenant, and a scraper should hold no key that
moves money. Anyone else gets 404, as for a path that does not exist.
"""

from __future__ import annotations

import hmac

from flask import Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from billing.core.config import Settings
from billing.core.errors import NotFound
from billing.monitoring.gauges import BacklogCollector
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.client_address import client_address, networks, within

blp = Blueprint("metrics", __name__, description="Operations")
METRICS_RESPONSES = {
    "200": {
        "description": "Prometheus text exposition format 0.0.4",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


def allowed(
    settings: Settings, authorization: str | None, peer: str | None, forwarded: str | None
) -> bool:
    if settings.metrics_token:
        offered = (authorization or "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), settings.metrics_token.encode())
    address = client_address(peer, forwarded, networks(settings.trusted_proxies))
    return within(address, networks(settings.metrics_networks))


@blp.route("/metrics", methods=["GET"])
@blp.doc(security=[], responses=METRICS_RESPONSES)
def metrics() -> Response:
    """Request counts and latencies, callbacks, backlogs and lags, queue depths."""
    runtime = current()
    forwarded = ",".join(request.headers.getlist("X-Forwarded-For")) or None
    if not allowed(runtime.settings, request.headers.get("Authorization"),
                   request.remote_addr, forwarded):  # fmt: skip
        raise NotFound("not found")
    registry = CollectorRegistry(auto_describe=False)
    if runtime.settings.metrics_dir:  # every server process's counters, summed
        MultiProcessCollector(registry, runtime.settings.metrics_dir)
    else:
        registry.register(_ThisProcess())
    registry.register(BacklogCollector(runtime.sessions, runtime.redis))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _ThisProcess:
    """The default registry's metrics (one process: the counters are all here)."""

    def collect(self):
        return REGISTRY.collect()
