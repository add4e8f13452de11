"""Operator simulators for sandbox mode: real HTTP endpoints in each operator's wire format.

The real adapters, unchanged, are pointed at them by `sandbox_settings`; the payer's
number ending picks the outcome (API.md, "Sandbox mode"; `scenarios.py`).

Serving requirements. The early-callback scenario (…0006) posts the callback from
inside the initiate request, possibly to the same server, so the app must handle
requests on several threads. Payments live in memory per blueprint, so the app must run
one process (e.g. `billing serve --workers 1`): with several, a status query can
reach a process that never saw the payment. Tokens and sessions are signed, not stored,
so they work across processes.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flask import Blueprint

from providers.sandbox import airtelmoney, mpesa, selcom, tigopesa

SIMULATORS: dict[str, ModuleType] = {
    "mpesa": mpesa,
    "tigopesa": tigopesa,
    "airtelmoney": airtelmoney,
    "selcom": selcom,
}
# Registry codes carried by the Selcom aggregator (providers.base.REGISTRY).
AGGREGATED = {"halopesa": "selcom", "tpesa": "selcom", "ezypesa": "selcom"}


def _simulator(code: str, *, allow_aggregated: bool) -> ModuleType:
    name = AGGREGATED.get(code, code) if allow_aggregated else code
    try:
        return SIMULATORS[name]
    except KeyError:
        raise ValueError(f"no sandbox simulator for {code!r}") from None


def sandbox_blueprint(code: str, *, callback_url: str, delay_s: float = 1.0) -> Blueprint:
    """The simulator for `code` (mpesa, tigopesa, airtelmoney, selcom) as a blueprint.

    Its url_prefix is `/sandbox/<code>`, which a `register_blueprint(url_prefix=…)`
    overrides. Callbacks go to `callback_url`, except Selcom's, which go to the webhook
    URL each order carries (as Selcom does), falling back to `callback_url`. Each call
    makes a fresh simulator with its own payments; the blueprint's `simulator`
    attribute exposes it.
    """
    if delay_s < 0:
        raise ValueError("delay_s must not be negative")
    module = _simulator(code, allow_aggregated=False)
    return module.blueprint(callback_url=callback_url, delay_s=delay_s)


def sandbox_settings(code: str, base_url: str) -> dict[str, Any]:
    """Settings for `providers.base.build_adapter(code, …)` that reach the simulator at
    `base_url` (where its blueprint is mounted) with the sandbox's published credentials.

    halopesa, tpesa and ezypesa get the Selcom simulator's settings. Sandbox applies the
    same callback rules as live: source allow-lists are on, allowing the loopback
    addresses the simulators post from (`providers.allowlist.SANDBOX_SOURCES`); Tigo's
    secret callback path has a published token; signed callbacks stay on (Selcom
    digest and Authorization, Airtel hash).
    """
    module = _simulator(code, allow_aggregated=True)
    return module.settings(base_url.rstrip("/"))
