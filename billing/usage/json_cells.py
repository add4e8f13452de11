"""JSON cells of usage rows (`raw`, `breakdown`) as COPY sends them: one encoder, made
once, and each distinct rating breakdown encoded once."""

from __future__ import annotations

import json
from typing import Any

# One encoder, made once: `json.dumps` with any option builds a new one every call.
encode = json.JSONEncoder(separators=(",", ":")).encode


def json_cell(value: Any) -> str | None:
    return None if value is None else encode(value)


class EncodedBreakdown(dict):
    """A rating breakdown shared by every record priced alike (`row_prices.price`), with
    its JSON as `breakdown_json` gives it. Breakdowns are never changed once rated."""

    __slots__ = ("text",)

    def __init__(self, breakdown: dict[str, Any]) -> None:
        super().__init__(breakdown)
        self.text = breakdown_json(breakdown)

    def __reduce__(self) -> tuple:  # a copy or a pickle is a plain dict of its own
        return (dict, (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a breakdown shared by records priced alike is read-only")

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _read_only  # type: ignore[assignment]


_SEEN: dict[tuple, str] = {}
_LIMIT = 50_000


def breakdown_json(value: dict[str, Any] | None) -> str | None:
    """A rating breakdown as JSON, each distinct one encoded once.

    Many rows share a breakdown (the same billed seconds, zone and band), and encoding
    costs more than the rest of the row's COPY. A breakdown holds ints and strings in
    tuples and lists (one JSON array either way), so its items with lists made tuples
    key it exactly; one with bundle draws (dicts) is unhashable and encoded every time.
    """
    if value is None:
        return None
    if value.__class__ is EncodedBreakdown:
        return value.text
    try:
        key = tuple([(name, tuple(item) if type(item) is list else item)
                     for name, item in value.items()])  # fmt: skip
        text = _SEEN.get(key)
    except TypeError:
        return encode(value)
    if text is None:
        if len(_SEEN) >= _LIMIT:
            _SEEN.clear()
        text = _SEEN[key] = encode(value)
    return text
