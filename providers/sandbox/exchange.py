"""Reading an adapter's request and writing an operator's answer, for every simulator."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

_E164_TZ = re.compile(r"^255[67]\d{8}$")


def json_body() -> dict[str, Any] | None:
    """The request's JSON object, with numbers exact; None if it is not one."""
    try:
        body = json.loads(request.get_data(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def whole_shillings(value: Any) -> int | None:
    """A positive whole amount from "1000", 1000 or "1000.00"; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount != amount.to_integral_value():
        return None
    return int(amount)


def is_tz_msisdn(value: Any) -> bool:
    """`255` + 9 digits, as M-Pesa, Tigo and Selcom want the payer's number."""
    return isinstance(value, str) and bool(_E164_TZ.match(value))


def missing(body: dict[str, Any], *keys: str) -> list[str]:
    return [key for key in keys if body.get(key) in (None, "")]


def operator_id(prefix: str, length: int = 10) -> str:
    """A receipt-like id, e.g. `SB3F9A0C1D2E`: upper-case, unique enough for a sandbox."""
    return prefix + secrets.token_hex(length // 2 + 1).upper()[:length]


# What an operator's error envelope says for a path it does not serve: (status, message).
Refuse = Callable[[int, str], Response]
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def answer_unknown_paths(bp: Blueprint, refuse: Refuse) -> None:
    """Register after the real routes: any other path (404), or a served path with the
    wrong method (405), is answered by `refuse` in the operator's own envelope, never
    in Malipo's problem+json."""
    view = _unknown_view(refuse)
    bp.add_url_rule("/", endpoint="unknown_root", view_func=view, methods=_METHODS)
    bp.add_url_rule("/<path:rest>", endpoint="unknown", view_func=view, methods=_METHODS)


def _unknown_view(refuse: Refuse) -> Callable[..., Response]:
    def unknown(rest: str = "") -> Response:
        if _served_with_another_method():
            return refuse(
                405, f"The requested resource does not support http method '{request.method}'."
            )
        return refuse(404, f"No resource was found that matches the request URI '{request.path}'.")

    return unknown


def _served_with_another_method() -> bool:
    urls = current_app.url_map.bind_to_environ(request.environ)
    this = request.url_rule.endpoint if request.url_rule else None
    for method in _METHODS:
        if method == request.method:
            continue
        try:
            rule, _ = urls.match(method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.endpoint != this and not rule.endpoint.endswith((".unknown", ".unknown_root")):
            return True
    return False
