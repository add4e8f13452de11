"""The provider adapters, built once per process from the settings.

In sandbox mode each adapter points at its simulator, served by this same service
under /sandbox/<simulator>/, and speaks the operator's real wire format to it.
Only the enabled providers are served (MALIPO_PROVIDERS, or in live mode the providers
MALIPO_PROVIDER_SETTINGS configures); a top-up naming another is a 422 on `provider`.
"""

from __future__ import annotations

import threading
from typing import Any

from billing.core.config import Settings
from billing.core.errors import InvalidInput
from billing.topups.provider_probe import ProviderProbe
from providers.base import REGISTRY, ProviderAdapter, ProviderConfigError, build_adapter
from providers.settings import missing_settings

CARD = "card"  # Stripe; enabled where MALIPO_PROVIDER_SETTINGS configures it, in any mode
MOBILE_MONEY = tuple(code for code in REGISTRY if code != CARD)
# The aggregator's three operators share one simulator and one callback format; card
# top-ups' webhooks come to /v1/callbacks/stripe.
SIMULATOR = {"halopesa": "selcom", "tpesa": "selcom", "ezypesa": "selcom", CARD: "stripe"}
CALLBACK_ALIASES = {"selcom": ("halopesa", "tpesa", "ezypesa"), "stripe": (CARD,)}


def simulator_for(code: str) -> str:
    return SIMULATOR.get(code, code)


class Gateways:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[str, ProviderAdapter] = {}
        self._lock = threading.Lock()
        self._probe = ProviderProbe(self.adapter)

    @property
    def enabled(self) -> tuple[str, ...]:
        if self.settings.providers is not None:
            chosen = set(self.settings.providers)
        elif self.settings.provider_mode == "sandbox":
            chosen = set(REGISTRY)
        else:
            chosen = set(self.settings.provider_settings)
        enabled = tuple(code for code in MOBILE_MONEY if code in chosen)
        if CARD in self.settings.provider_settings and (
            self.settings.providers is None or CARD in self.settings.providers
        ):
            enabled += (CARD,)
        return enabled

    def adapter(self, code: str) -> ProviderAdapter:
        code = self._callback_code(code)
        if code not in self.enabled:
            raise InvalidInput.on("provider", f"must be one of {', '.join(self.enabled)}")
        with self._lock:
            if code not in self._adapters:
                self._adapters[code] = build_adapter(code, self._settings_for(code))
            return self._adapters[code]

    def _callback_code(self, code: str) -> str:
        """The aggregator's callbacks parse alike: any enabled operator of it will do."""
        family = CALLBACK_ALIASES.get(code)
        if family is None:
            return code
        return next((member for member in family if member in self.enabled), family[0])

    def callback_url(self, code: str) -> str:
        """The URL we give the provider; with the secret path token where it has one."""
        url = f"{self.settings.public_url.rstrip('/')}/v1/callbacks/{simulator_for(code)}"
        token = self._configured(code).get("callback_token")
        return f"{url}/{token}" if token else url

    def missing_settings(self) -> list[str]:
        """Every enabled provider's missing live settings, as `code.setting` names."""
        problems = [
            f"MALIPO_PROVIDERS: unknown provider {code!r}"
            for code in self.settings.providers or ()
            if code not in REGISTRY
        ]
        for code in self.enabled:
            problems += [
                f"{code}.{name}" for name in missing_settings(code, self._configured(code))
            ]
        return problems

    def authentication(self) -> dict[str, str]:
        """Live mode: each enabled provider's cached ability to authenticate, for /readyz.
        (Sandbox simulators are served by this process itself: nothing to probe.)"""
        if self.settings.provider_mode == "sandbox":
            return {}
        return {code: self._probe.state(code) for code in self.enabled}

    def _configured(self, code: str) -> dict[str, Any]:
        try:
            return self._settings_for(code)
        except ProviderConfigError:
            return {}

    def _settings_for(self, code: str) -> dict[str, Any]:
        if self.settings.provider_mode == "sandbox" and code != CARD:
            from providers.sandbox import sandbox_settings

            # MALIPO_PROVIDER_SETTINGS may choose among the sandbox's own options, e.g.
            # M-Pesa's synchronous application (providers.sandbox.mpesa_apps.SYNC_SETTINGS).
            base = f"{self.settings.public_url.rstrip('/')}/sandbox/{simulator_for(code)}"
            return {**sandbox_settings(code, base), **self.settings.provider_settings.get(code, {})}
        try:
            return self.settings.provider_settings[code]
        except KeyError:
            raise ProviderConfigError(f"no live settings for provider {code!r}") from None
