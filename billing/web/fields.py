"""Input fields whose documented range is what the arithmetic and the columns behind them hold.

A rate of `1E+28` or an FX rate of `1e20` used to pass the schema and fail later, in a job
or deep in PostgreSQL; a date like `0001-01-01` overflowed a local-midnight conversion.
These fields refuse such input at the edge (422 naming the field) and say their range in
the OpenAPI document, so a client can know it before sending.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
# The window as the document says it: the year a date or (local) date-time starts with.
WINDOW_PATTERN = r"^(20[0-9]{2}|2100)-"
_WINDOW = f"between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
# Bidirectional overrides and isolates reorder what a document prints (Trojan Source).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class DecimalString(fields.Decimal):
    """A non-negative decimal sent as a string of plain digits: `"12.5"`, never `1E+28` or a
    JSON number (whose float has already lost digits). At most `integer_digits` digits
    before the point and `places` after it; `positive` refuses zero."""

    def __init__(
        self, *, integer_digits: int, places: int, positive: bool = False, **kwargs: Any
    ) -> None:
        nonzero = r"(?!0+(\.0+)?$)" if positive else ""
        self.pattern = rf"^{nonzero}[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{places}}})?$"
        self.positive = positive
        largest = "9" * integer_digits + ("." + "9" * places if places else "")
        floor = "more than 0" if positive else "0"
        description = kwargs.pop("metadata", {}).get("description", "")
        metadata = {
            "description": (
                f"{description + ': ' if description else ''}decimal string, {floor} to"
                f" {largest}, at most {places} decimal places"
            ),
        }
        super().__init__(as_string=True, places=None, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise ValidationError(f'a decimal string matching {self.pattern}, e.g. "12.50"')
        try:
            number = Decimal(value)
        except InvalidOperation:  # the pattern admits only plain digits; kept for safety
            raise ValidationError("not a decimal") from None
        if self.positive and number == 0:
            raise ValidationError("must be more than 0")
        return number


class Day(fields.Date):
    """A calendar day within the service's window (2000-2100)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", {}))
        metadata["description"] = _with_window(metadata.get("description"))
        metadata["pattern"] = WINDOW_PATTERN
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(f"must be {_WINDOW}")
        return day


class Instant(fields.AwareDateTime):
    """An RFC 3339 instant with its offset, within the service's window (2000-2100)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", {}))
        metadata["description"] = _with_window(metadata.get("description"))
        metadata["pattern"] = WINDOW_PATTERN
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        # The local date, as written (and documented); inside the window a conversion to
        # UTC or to East Africa Time cannot overflow.
        if not FIRST_DAY <= instant.date() <= LAST_DAY:
            raise ValidationError(f"must be {_WINDOW}")
        return instant


def _with_window(description: str | None) -> str:
    return f"{description}; {_WINDOW}" if description else _WINDOW


# Control characters (C0, DEL, C1) and the bidirectional overrides and isolates, which
# reorder what a document prints (Trojan Source). As regex escapes: Python's `re` and the
# ECMA-262 dialect of JSON Schema read them alike.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
DOCUMENT_TEXT = rf"^[^{_CONTROLS}]*[^\s\ufeff{_CONTROLS}][^{_CONTROLS}]*$"


class DocumentText(fields.String):
    """Text printed on tax invoices and receipts: not blank, no control characters (tabs
    and line breaks included), no bidirectional controls; runs of spaces are collapsed."""

    def __init__(self, longest: int, **kwargs: Any) -> None:
        self.longest = longest
        metadata = dict(kwargs.pop("metadata", {}))
        metadata.setdefault("description", "printed on documents")
        metadata["description"] += f"; 1 to {longest} characters, no control characters"
        metadata.update(pattern=DOCUMENT_TEXT, minLength=1, maxLength=longest)
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.longest:
            raise ValidationError(f"at most {self.longest} characters")
        if not re.fullmatch(DOCUMENT_TEXT, text):
            raise ValidationError(document_text_problem(text) or "must not be blank")
        return " ".join(text.split())


def document_text_problem(text: str) -> str | None:
    """Which character may not be printed on a document, or None."""
    for char in text:
        if char in _BIDI_CONTROLS:
            return f"must not contain the bidirectional control U+{ord(char):04X}"
        if unicodedata.category(char) == "Cc":
            return f"must not contain the control character U+{ord(char):04X}"
    return None


class StrictBoolean(fields.Boolean):
    """A JSON `true` or `false` only: marshmallow's Boolean also takes 1, 0, "yes", "on"…,
    which the published schema (`type: boolean`) does not allow."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
