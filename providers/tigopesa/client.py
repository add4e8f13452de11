"""HTTP calls to Tigo Pesa push billing: token, pay, and reverse.

Tigo issues each merchant its own token and pay URLs, so there is no base URL here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests

from providers.tigopesa import wire
from providers.tokens import TokenCache
from providers.transport import HttpReply, NotSent, Timeouts, send


@dataclass(frozen=True)
class TigoConfig:
    token_url: str
    pay_url: str
    username: str
    password: str = field(repr=False)
    biller_msisdn: str
    biller_code: str
    reference_prefix: str | None = None  # default: the biller code, as msomali/tigopesa does
    refund_url: str | None = None  # ReverseTransaction; refunds are off without it
    channel_msisdn: str | None = None
    channel_pin: str | None = field(default=None, repr=False)
    ack_success_code: str = wire.DEFAULT_ACK_SUCCESS
    ack_failure_code: str = wire.DEFAULT_ACK_FAILURE
    # Tigo's only callback proofs (providers.md §2): its source networks and the token
    # of our secret callback path. Without either, every callback is refused.
    callback_ips: tuple[str, ...] | None = None  # e.g. wire.PUBLISHED_CALLBACK_IPS
    callback_token: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    token_margin_s: float = 60.0
    # Optional in the dataclass (a unit test may build a partial adapter), required live.
    LIVE_REQUIRED: ClassVar[tuple[str, ...]] = ("callback_ips", "callback_token")

    @property
    def prefix(self) -> str:
        return self.biller_code if self.reference_prefix is None else self.reference_prefix

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.connect_timeout_s, self.read_timeout_s)


class TigoClient:
    def __init__(self, config: TigoConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._http = session or requests.Session()
        self.tokens = TokenCache(self._fetch_token, margin_s=config.token_margin_s)

    def _fetch_token(self) -> tuple[str, float]:
        reply = send(
            self._http,
            "POST",
            self.config.token_url,
            timeouts=self.config.timeouts,
            form=wire.token_form(self.config.username, self.config.password),
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        token = body.get("access_token") if reply.status < 300 else None
        if not token:
            raise NotSent(f"token request answered {reply.status}: {reply.text[:200]}")
        return str(token), float(body.get("expires_in") or 300)

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Authorization": f"bearer {self.tokens.get()}",
            "Username": self.config.username,
            "Password": self.config.password,
        }

    def _post(self, url: str, body: dict[str, Any]) -> HttpReply:
        reply = send(
            self._http,
            "POST",
            url,
            timeouts=self.config.timeouts,
            headers=self._headers(),
            json_body=body,
        )
        if reply.status == 401:
            self.tokens.invalidate()
        return reply

    def pay(self, body: dict[str, Any]) -> HttpReply:
        return self._post(self.config.pay_url, body)

    def reverse(self, body: dict[str, Any]) -> HttpReply:
        if not self.config.refund_url:
            raise ValueError("refund_url is not configured")
        return self._post(self.config.refund_url, body)
