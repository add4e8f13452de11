"""What every mobile-money adapter shares: its code and config, its HTTP client, the
source allow-list for callbacks, the payer's number in the operator's format, and the
`build` the registry calls. Each operator's package says only what differs: its wire
calls, its callbacks and its capabilities."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import requests

from providers import msisdn
from providers.allowlist import SourceAllowList
from providers.base import Capabilities
from providers.settings import config_from_settings


class OperatorAdapter(ABC):
    CONFIG: ClassVar[type]
    CLIENT: ClassVar[Callable[[Any, requests.Session | None], Any]]
    # An operator that signs nothing is proven by its addresses alone: with none
    # configured it refuses every source rather than checking none.
    REFUSE_UNLISTED: ClassVar[bool] = False

    def __init__(self, code: str, config: Any, session: requests.Session | None = None) -> None:
        self.code = code
        self.config = config
        self.client = self.CLIENT(config, session)
        sources = config.callback_ips
        self.allow = SourceAllowList(() if sources is None and self.REFUSE_UNLISTED else sources)
        self.capabilities = self.capabilities_of(config)

    @abstractmethod
    def capabilities_of(self, config: Any) -> Capabilities:
        """What this operator's API offers, given its configuration."""

    def normalize_msisdn(self, number: str) -> str:
        return msisdn.format_for(number, self.capabilities.msisdn_format)

    @classmethod
    def build(
        cls, code: str, settings: Mapping[str, Any], session: requests.Session | None = None
    ) -> OperatorAdapter:
        return cls(code, config_from_settings(cls.CONFIG, settings), session)
