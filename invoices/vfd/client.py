"""HTTP client for TRA's VFD web API: registration, token, receipts, Z reports.

It fails closed: a timeout, a broken connection or an HTTP 5xx raises `TraUnreachable`
and nothing here ever makes up an acknowledgement. Receipts and Z reports are posted
as the already-signed bytes the caller stored, so a retry resends them unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import requests

from invoices.taxpayer import normalise_tin
from invoices.vfd.ack import (
    Ack,
    Registration,
    parse_error_message,
    parse_receipt_ack,
    parse_registration,
    parse_zreport_ack,
)
from invoices.vfd.errors import MalformedResponse, RequestRejected, TokenRefused, TraUnreachable
from invoices.vfd.signing import SigningKey, envelope

_NETWORK_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
_TOKEN_MARGIN_SECONDS = 60  # renew a little early so a token never expires in flight


@dataclass(frozen=True, slots=True)
class Endpoints:
    register: str
    token: str
    receipt: str
    zreport: str

    @classmethod
    def test(cls, base: str = "https://virtual.tra.go.tz") -> Endpoints:
        """TRA's test system, or a simulator serving the same paths under `base`."""
        root = f"{base.rstrip('/')}/efdmsRctApi"
        return cls(f"{root}/api/vfdRegReq", f"{root}/vfdtoken",
                   f"{root}/api/efdmsRctInfo", f"{root}/api/efdmszreport")  # fmt: skip

    @classmethod
    def production(cls) -> Endpoints:
        root = "https://vfd.tra.go.tz"
        return cls(f"{root}/api/vfdRegReq", f"{root}/vfdtoken",
                   f"{root}/api/efdmsRctInfo", f"{root}/api/efdmszreport")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Credentials:
    """USERNAME and PASSWORD from the stored registration reply."""

    username: str
    password: str


class VfdClient:
    def __init__(
        self,
        endpoints: Endpoints,
        key: SigningKey,
        *,
        credentials: Credentials | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        client_header: str = "webapi",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._endpoints = endpoints
        self._key = key
        self._credentials = credentials
        self._http = session or requests.Session()
        self._timeout = timeout
        self._client_header = client_header
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (access token, renew after)

    def register(self, tin: str, cert_key: str) -> Registration:
        """Register this VFD once; keep the reply (RULES #1-3). Check `.ack.accepted`."""
        regdata = (
            f"<REGDATA><TIN>{normalise_tin(tin)}</TIN>"
            f"<CERTKEY>{escape(cert_key.strip())}</CERTKEY></REGDATA>"
        )
        headers = {"Client": self._client_header}
        response = self._post(self._endpoints.register, envelope(regdata, self._key), headers)
        return parse_registration(self._ok_body(response))

    def token(self) -> str:
        """A bearer token, reused until shortly before it expires (RULES #17-18)."""
        if self._token is not None and self._clock() < self._token[1]:
            return self._token[0]
        if self._credentials is None:
            raise TokenRefused(None, "no credentials: register first")
        form = {
            "username": self._credentials.username,
            "password": self._credentials.password,
            "grant_type": "password",
        }
        response = self._send(self._endpoints.token, data=form)
        ack_code = _int_or_none(response.headers.get("ACKCODE"))
        message = response.headers.get("ACKMSG", "")
        if response.status_code >= 500:
            raise TraUnreachable(f"token: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        access = payload.get("access_token") if isinstance(payload, dict) else None
        if response.status_code != 200 or not access or ack_code not in (None, 0):
            raise TokenRefused(ack_code, message or str(payload)[:200])
        lifetime = int(payload.get("expires_in", 0))
        self._token = (access, self._clock() + max(lifetime - _TOKEN_MARGIN_SECONDS, 0))
        return access

    def forget_token(self) -> None:
        self._token = None

    def post_receipt(self, signed_body: bytes, routing_key: str = "vfdrct") -> Ack:
        """Post one signed `<EFDMS><RCT>` body; the Ack says whether TRA accepted it."""
        response = self._post_authorised(self._endpoints.receipt, signed_body, routing_key)
        return parse_receipt_ack(self._ok_body(response))

    def post_zreport(self, signed_body: bytes) -> Ack:
        response = self._post_authorised(self._endpoints.zreport, signed_body, "vfdzreport")
        return parse_zreport_ack(self._ok_body(response))

    def _post_authorised(self, url: str, body: bytes, routing_key: str) -> requests.Response:
        response = self._post(url, body, self._auth_headers(routing_key))
        if response.status_code == 401:
            # The token TRA gave may die before its stated expiry; get one fresh and retry once.
            self.forget_token()
            response = self._post(url, body, self._auth_headers(routing_key))
        return response

    def _auth_headers(self, routing_key: str) -> dict[str, str]:
        return {"Routing-Key": routing_key, "Authorization": f"bearer {self.token()}"}

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        all_headers = {
            "Content-Type": "application/xml",
            "Cert-Serial": self._key.cert_serial,
            **headers,
        }
        return self._send(url, data=body, headers=all_headers)

    def _send(self, url: str, **kwargs: object) -> requests.Response:
        try:
            return self._http.post(url, timeout=self._timeout, **kwargs)  # type: ignore[arg-type]
        except _NETWORK_ERRORS as exc:
            raise TraUnreachable(f"{url}: {exc.__class__.__name__}: {exc}") from exc

    @staticmethod
    def _ok_body(response: requests.Response) -> bytes:
        if response.status_code >= 500:
            raise TraUnreachable(
                f"HTTP {response.status_code}: {parse_error_message(response.content)}"
            )
        if response.status_code != 200:
            raise RequestRejected(response.status_code, response.text[:500])
        if not response.content.strip():
            raise MalformedResponse("empty reply from TRA")
        return response.content


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
