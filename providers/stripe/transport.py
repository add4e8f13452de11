"""The stripe library's HTTP, on one keep-alive urllib3 pool shared by every thread.

The library's default (`stripe.RequestsClient`) gives each thread a `requests.Session`
and, on every call, merges the environment's settings into it (proxies, `.netrc`, CA
bundle variables): about a millisecond of CPU a call, which was a third of a
reconciled webhook's cost. Here the environment's proxy is read once, at start, and the
calls go straight to urllib3 (which `requests` uses underneath anyway): the same
keep-alive connections, the same certificate check against the library's CA bundle,
the same errors for the library's retry rule (a timeout or a refused connection is
retried, a certificate failure never).
"""

from __future__ import annotations

import textwrap
import urllib.request
from collections.abc import Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import stripe
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

POOL_SIZE = 32  # connections kept per host: above the readers a worker runs at once


class Urllib3Client(stripe.HTTPClient):
    name = "urllib3"

    def __init__(self, timeout: float = 80.0, *, proxy: str | None = None) -> None:
        super().__init__(verify_ssl_certs=True, proxy=proxy)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)  # as requests'
        tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": stripe.ca_bundle_path}
        self._pool: urllib3.PoolManager = (
            urllib3.ProxyManager(proxy, maxsize=POOL_SIZE, block=False, **tls)
            if proxy
            else urllib3.PoolManager(maxsize=POOL_SIZE, block=False, **tls)
        )

    @classmethod
    def from_environment(cls, timeout: float, api_base: str | None) -> Urllib3Client:
        """The proxy the environment names for Stripe's host, read once (not per call)."""
        url = api_base or stripe.DEFAULT_API_BASE
        parts = urlsplit(url)
        proxies = urllib.request.getproxies()
        bypass = urllib.request.proxy_bypass(parts.hostname or "") if proxies else True
        return cls(timeout, proxy=None if bypass else proxies.get(parts.scheme))

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = self._pool.request(
                method.upper(),
                url,
                body=post_data,
                headers=dict(headers or {}),
                timeout=self._timeout,
                retries=False,  # the library retries, by its own rule
                redirect=False,
            )
        except Exception as error:
            self._handle_request_error(error)
        return response.data, response.status, response.headers

    def request_stream(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError("Malipo reads no streamed Stripe responses")

    def close(self) -> None:
        self._pool.clear()

    def _handle_request_error(self, error: Exception) -> NoReturn:
        if isinstance(error, SSLError):
            retry, what = False, "Could not verify Stripe's TLS certificate."
        elif isinstance(
            error, ConnectTimeoutError | ReadTimeoutError | NewConnectionError | ProtocolError
        ):
            retry, what = True, "Unexpected error communicating with Stripe."
        elif isinstance(error, HTTPError):
            retry, what = False, "Unexpected error communicating with Stripe."
        else:
            retry, what = False, "Unexpected error communicating with Stripe (configuration?)."
        message = textwrap.fill(what) + f"\n\n(Network error: {type(error).__name__}: {error})"
        raise stripe.APIConnectionError(message, should_retry=retry) from error
