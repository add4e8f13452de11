"""Forms through the API's own schemas: a page validates input exactly as the API does,
and shows each message beside the field it names."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError

from billing.core.errors import MalipoError
from billing.core.money import Currency, to_minor
from billing.web.validation import unsafe_text_reason

Errors = dict[str, list[str]]


def load(schema: Schema, data: Mapping[str, Any]) -> tuple[dict | None, Errors]:
    """The loaded data, or None and the messages by field (the CSRF token is the page's,
    not the schema's)."""
    data = {name: value for name, value in data.items() if name != "csrf_token"}
    for name, value in data.items():
        reason = isinstance(value, str) and unsafe_text_reason(value)
        if reason:
            return None, {name: [reason]}
    try:
        return schema.load(data), {}
    except ValidationError as error:
        return None, _flat(error.normalized_messages())


def errors_of(error: MalipoError) -> Errors:
    return error.errors or {"_form": [error.detail]}


def minor_units(text: str, currency: str, field: str = "amount") -> tuple[int | None, Errors]:
    """An amount typed in major units (`5000`, `5,000.50`) as exact minor units."""
    cleaned = (text or "").replace(",", "").replace(" ", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None, {field: ["enter an amount, e.g. 5000"]}
    if not amount.is_finite() or amount <= 0 or amount > Decimal("1e12"):
        return None, {field: ["enter an amount more than 0"]}
    if amount != amount.quantize(Decimal(1).scaleb(-Currency(currency).exponent)):
        return None, {field: ["at most two decimal places"]}
    return to_minor(amount, Currency(currency)), {}


def _flat(messages: Any) -> Errors:
    flat: Errors = {}
    for name, value in (messages or {}).items():
        if isinstance(value, dict):
            flat[name] = [str(v) for part in value.values() for v in _listed(part)]
        else:
            flat[name] = [str(v) for v in _listed(value)]
    return flat


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]
