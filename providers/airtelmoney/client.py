"""HTTP calls to Airtel Money: OAuth2 token, payment, enquiry, refund."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from providers.airtelmoney import wire
from providers.tokens import TokenCache
from providers.transport import HttpReply, NotSent, Timeouts, send


@dataclass(frozen=True)
class AirtelConfig:
    base_url: str  # https://openapiuat.airtel.africa (UAT), https://openapi.airtel.africa
    client_id: str
    client_secret: str = field(repr=False)
    country: str = "TZ"
    currency: str = "TZS"
    api_version: str = "v1"  # v2 adds message-signing headers, not implemented here
    callback_hash_key: str | None = field(default=None, repr=False)  # "With Auth" mode [I]
    callback_ips: tuple[str, ...] | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    token_margin_s: float = 30.0  # tokens have been seen to live only 180 s

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.connect_timeout_s, self.read_timeout_s)


class AirtelClient:
    def __init__(self, config: AirtelConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._http = session or requests.Session()
        self.tokens = TokenCache(self._fetch_token, margin_s=config.token_margin_s)

    def _url(self, path: str, **parts: str) -> str:
        return self.config.base_url.rstrip("/") + path.format(
            version=self.config.api_version, **parts
        )

    def _fetch_token(self) -> tuple[str, float]:
        reply = send(
            self._http,
            "POST",
            self._url(wire.TOKEN_PATH),
            timeouts=self.config.timeouts,
            headers={"Content-Type": "application/json", "Accept": "*/*"},
            json_body=wire.token_body(self.config.client_id, self.config.client_secret),
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        token = body.get("access_token") if reply.status < 300 else None
        if not token:
            raise NotSent(f"token request answered {reply.status}: {reply.text[:200]}")
        return str(token), float(str(body.get("expires_in") or 180))

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Accept": "*/*",
            "X-Country": self.config.country,
            "X-Currency": self.config.currency,
            "Authorization": f"Bearer {self.tokens.get()}",
        }

    def _call(self, method: str, url: str, body: Any = None) -> HttpReply:
        reply = send(
            self._http,
            method,
            url,
            timeouts=self.config.timeouts,
            headers=self._headers(),
            json_body=body,
        )
        if reply.status == 401:
            self.tokens.invalidate()
        return reply

    def collect(self, body: dict[str, Any]) -> HttpReply:
        return self._call("POST", self._url(wire.PAYMENTS_PATH), body)

    def enquire(self, txn_id: str) -> HttpReply:
        return self._call("GET", self._url(wire.ENQUIRY_PATH, id=txn_id))

    def refund(self, body: dict[str, Any]) -> HttpReply:
        return self._call("POST", self._url(wire.REFUND_PATH), body)
