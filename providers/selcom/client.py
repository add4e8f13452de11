"""HTTP calls to the Selcom API gateway, each signed over its own fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from providers.inbound import utc_now
from providers.selcom import signing, wire
from providers.transport import HttpReply, Timeouts, send


@dataclass(frozen=True)
class SelcomConfig:
    base_url: str  # https://apigw.selcommobile.com/v1 (test: apigwtest)
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    vendor: str
    buyer_email: str = "payments@example.invalid"  # required by the API; no buyer e-mail here
    buyer_name: str = "Malipo Wallet"
    require_signed_webhooks: bool = True  # whether Selcom signs webhooks is [I]
    webhook_max_skew_s: float | None = 900.0
    callback_ips: tuple[str, ...] | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.connect_timeout_s, self.read_timeout_s)


class SelcomClient:
    def __init__(
        self,
        config: SelcomConfig,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self._http = session or requests.Session()
        self._clock = clock

    def _headers(self, data: dict[str, Any]) -> dict[str, str]:
        now = self._clock().astimezone()
        return signing.signed_headers(self.config.api_key, self.config.api_secret, data, now)

    def _url(self, path: str) -> str:
        return f"{self.config.base_url.rstrip('/')}/{path}"

    def _post(self, path: str, data: dict[str, Any]) -> HttpReply:
        return send(
            self._http,
            "POST",
            self._url(path),
            timeouts=self.config.timeouts,
            headers=self._headers(data),
            json_body=data,
        )

    def create_order(self, data: dict[str, Any]) -> HttpReply:
        return self._post(wire.CREATE_ORDER_PATH, data)

    def wallet_payment(self, data: dict[str, str]) -> HttpReply:
        return self._post(wire.WALLET_PAYMENT_PATH, data)

    def order_status(self, order_id: str) -> HttpReply:
        params = {"order_id": order_id}
        return send(
            self._http,
            "GET",
            self._url(wire.ORDER_STATUS_PATH),
            timeouts=self.config.timeouts,
            headers=self._headers(params),
            params=params,
        )

    def cancel_order(self, order_id: str) -> HttpReply:
        """Withdraw an unpaid order, e.g. when a top-up expires locally."""
        params = {"order_id": order_id}
        return send(
            self._http,
            "DELETE",
            self._url(wire.CANCEL_ORDER_PATH),
            timeouts=self.config.timeouts,
            headers=self._headers(params),
            params=params,
        )
