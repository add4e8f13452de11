"""What an audit event says about the request behind it: its id, the caller's role and
the client's address (behind our trusted proxies, `client_address`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import has_request_context, request

from billing.runtime import current
from billing.web.client_address import client_address, networks
from billing.web.session import request_state

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class RequestMeta:
    request_id: str
    role: str | None
    client_address: str | None


def request_id() -> str:
    """The caller's `X-Request-Id` when it is a plain token, else one of ours."""
    state = request_state()
    if "request_id" not in state:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        state["request_id"] = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
    return state["request_id"]


def current_meta() -> RequestMeta | None:
    """None outside an HTTP request (a job, the CLI)."""
    if not has_request_context():
        return None
    who = request_state().get("principal")
    address = client_address(
        request.remote_addr,
        ",".join(request.headers.getlist("X-Forwarded-For")) or None,
        networks(current().settings.trusted_proxies),
    )
    return RequestMeta(request_id(), who.role.value if who else None, address)
