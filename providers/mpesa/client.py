"""HTTP calls to the M-Pesa Open API: session, C2B single stage, query, reversal.

Raises transport.NotSent / NoAnswer; the adapter turns those into results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from providers.mpesa import wire
from providers.mpesa.auth import bearer_header, load_public_key
from providers.tokens import TokenCache
from providers.transport import HttpReply, NotSent, Timeouts, send


@dataclass(frozen=True)
class MpesaConfig:
    base_url: str  # e.g. https://openapi.m-pesa.com:443/sandbox/ipg/v2/vodacomTZN
    api_key: str = field(repr=False)
    public_key: str  # base64 DER or PEM
    service_provider_code: str
    mode: str = "async"  # "sync" blocks until PIN entry, so it needs a long read timeout
    origin: str = "*"
    connect_timeout_s: float = 5.0
    read_timeout_s: float | None = None  # default: 300 s sync, 30 s async
    session_ttl_s: float = 3600.0  # [I] not documented; renewed early and on 401
    callback_ips: tuple[str, ...] | None = None  # not published for TZ

    def __post_init__(self) -> None:
        if self.mode not in ("sync", "async"):
            raise ValueError("mode is 'sync' or 'async'")

    @property
    def sync(self) -> bool:
        return self.mode == "sync"

    @property
    def timeouts(self) -> Timeouts:
        read = self.read_timeout_s or (300.0 if self.sync else 30.0)
        return Timeouts(connect_s=self.connect_timeout_s, read_s=read)


class MpesaClient:
    def __init__(self, config: MpesaConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._http = session or requests.Session()
        self._public_key = load_public_key(config.public_key)
        self.sessions = TokenCache(self._fetch_session, margin_s=60.0)

    def _url(self, path: str) -> str:
        return f"{self.config.base_url.rstrip('/')}/{path}"

    def _headers(self, secret: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Authorization": bearer_header(self._public_key, secret),
            "Origin": self.config.origin,
        }

    def _fetch_session(self) -> tuple[str, float]:
        reply = send(
            self._http,
            "GET",
            self._url(wire.GET_SESSION_PATH),
            timeouts=Timeouts(self.config.connect_timeout_s, 30.0),
            headers=self._headers(self.config.api_key),
        )
        session_id = (reply.body or {}).get("output_SessionID") if reply.status < 300 else None
        if not session_id:
            # No payment was sent yet, so this is a clean failure to retry later.
            raise NotSent(f"getSession answered {reply.status}: {reply.text[:200]}")
        return str(session_id), self.config.session_ttl_s

    def _call(self, method: str, path: str, **kwargs: Any) -> HttpReply:
        reply = send(
            self._http,
            method,
            self._url(path),
            timeouts=self.config.timeouts,
            headers=self._headers(self.sessions.get()),
            **kwargs,
        )
        if reply.status == 401:
            self.sessions.invalidate()
        return reply

    def c2b_single_stage(self, body: dict[str, str]) -> HttpReply:
        return self._call("POST", wire.C2B_PATH, json_body=body)

    def query_transaction_status(self, params: dict[str, str]) -> HttpReply:
        return self._call("GET", wire.QUERY_PATH, params=params)

    def reversal(self, body: dict[str, str]) -> HttpReply:
        return self._call("PUT", wire.REVERSAL_PATH, json_body=body)
