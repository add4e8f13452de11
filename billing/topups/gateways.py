"""The provider adapters, built once per process from the settings.

In sandbox mode each adapter points at its simulator, served by this same service
under /sandbox/<simulator>/, and speaks the operator's real wire format to it.
"""

from __future__ import annotations

import threading
from typing import Any

from billing.core.config import Settings
from billing.core.errors import InvalidInput
from providers.base import REGISTRY, ProviderAdapter, ProviderConfigError, build_adapter

MOBILE_MONEY = tuple(REGISTRY)  # mpesa, tigopesa, airtelmoney, halopesa, tpesa, ezypesa
# The aggregator's three operators share one simulator and one callback format.
SIMULATOR = {"halopesa": "selcom", "tpesa": "selcom", "ezypesa": "selcom"}
CALLBACK_ALIASES = {"selcom": "halopesa"}


def simulator_for(code: str) -> str:
    return SIMULATOR.get(code, code)


class Gateways:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[str, ProviderAdapter] = {}
        self._lock = threading.Lock()

    def adapter(self, code: str) -> ProviderAdapter:
        code = CALLBACK_ALIASES.get(code, code)
        if code not in REGISTRY:
            raise InvalidInput.on("provider", f"must be one of {', '.join(MOBILE_MONEY)}")
        with self._lock:
            if code not in self._adapters:
                self._adapters[code] = build_adapter(code, self._settings_for(code))
            return self._adapters[code]

    def callback_url(self, code: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/v1/callbacks/{simulator_for(code)}"

    def _settings_for(self, code: str) -> dict[str, Any]:
        if self.settings.provider_mode == "sandbox":
            from providers.sandbox import sandbox_settings

            base = f"{self.settings.public_url.rstrip('/')}/sandbox/{simulator_for(code)}"
            return sandbox_settings(code, base)
        try:
            return self.settings.provider_settings[code]
        except KeyError:
            raise ProviderConfigError(f"no live settings for provider {code!r}") from None
