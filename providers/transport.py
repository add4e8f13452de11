"""HTTP to providers with explicit timeouts, sorting failures by what they mean for money.

A failure before the request left (refused connection, DNS, connect timeout) means no
money moved. A failure after it left (read timeout, dropped connection) means the
provider may have acted: the caller must treat the outcome as unknown and query later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError


class NotSent(Exception):
    """The request never reached the provider."""


class NoAnswer(Exception):
    """The request was sent, but no usable answer came back."""


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect_s, self.read_s)


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: Any  # parsed JSON (floats as Decimal) or None
    text: str


def decode_json(raw: bytes | str) -> Any:
    """JSON with numbers as Decimal, so no amount ever passes through a float."""
    return json.loads(raw, parse_float=Decimal)


def _never_connected(error: requests.ConnectionError) -> bool:
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeouts: Timeouts,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> HttpReply:
    """One HTTP exchange; raises NotSent or NoAnswer instead of requests' exceptions."""
    try:
        response = session.request(
            method,
            url,
            headers=dict(headers or {}),
            json=json_body,
            data=form,
            params=params,
            timeout=timeouts.as_tuple(),
        )
    except requests.ConnectionError as error:
        if _never_connected(error):
            raise NotSent(str(error)) from error
        raise NoAnswer(str(error)) from error
    except requests.Timeout as error:
        raise NoAnswer(str(error)) from error
    except requests.RequestException as error:
        raise NoAnswer(str(error)) from error
    try:
        body = decode_json(response.content) if response.content else None
    except ValueError:
        body = None
    return HttpReply(status=response.status_code, body=body, text=response.text)
