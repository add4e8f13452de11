"""Validation at the edge, once for every route: text PostgreSQL cannot store never reaches it.

PostgreSQL refuses NUL in text and psycopg cannot encode a lone surrogate, so either one
deep inside a service became a 500. Three hooks refuse them before any view runs:

- the arguments parser (`EdgeParser`) scans every JSON body, query string and form
  before its schema loads it, naming the field (`records.3.caller`): 422;
- the path converter (`SafeString`) does not match an id holding them: 404;
- a request hook checks the `Idempotency-Key` header is visible ASCII: 422 saying so.

A JSON body sent with another Content-Type is 415, not "missing data".
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from marshmallow import Schema, ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch

from billing.core.errors import InvalidInput
from billing.web.fast_json import parse_json

_SCANNED = frozenset({"json", "query", "querystring", "form", "json_or_form"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# In a JSON body, NUL and a lone surrogate arrive only as a \u escape (0000, D800-DFFF),
# as a raw NUL, or as UTF-8-encoded surrogate bytes (ED A0-BF, which the decoder lets
# through; UTF-16 and UTF-32 bodies hold NUL bytes). A body with none of these cannot
# hold unstorable text, so its every string need not be walked: for a 1,000-record usage
# batch the walk cost about a tenth of the request. A false alarm (a valid surrogate
# pair, an escaped backslash) only means the walk.
_MAYBE_UNSAFE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\x00|\xed[\xa0-\xbf]")


def unsafe_text_reason(text: str) -> str | None:
    """Why a string cannot be stored, or None: NUL and lone surrogates are refused."""
    if "\x00" in text:
        return "must not contain NUL (U+0000)"
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "must not contain a lone surrogate (not valid Unicode)"
    return None


def unsafe_text_errors(value: Any, path: str = "") -> dict[str, list[str]]:
    """Every string (and key) in a decoded JSON value that cannot be stored, by field path."""
    errors: dict[str, list[str]] = {}
    if isinstance(value, str):
        reason = unsafe_text_reason(value)
        if reason:
            errors[path or "body"] = [reason]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            reason = unsafe_text_reason(str(key))
            if reason:
                errors[_printable(name)] = [f"field name {reason}"]
                continue
            errors.update(unsafe_text_errors(item, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            errors.update(unsafe_text_errors(item, f"{path}.{index}" if path else str(index)))
    return errors


def _printable(name: str) -> str:
    return name.encode("unicode_escape").decode("ascii")


def _location_errors(location_data: Any) -> dict[str, list[str]]:
    """A query string or form (a MultiDict) is scanned value by value, each named by its
    parameter, repeats included; a JSON body by its path."""
    if not hasattr(location_data, "getlist"):
        return unsafe_text_errors(location_data)
    errors: dict[str, list[str]] = {}
    for name in location_data:
        for value in location_data.getlist(name):
            errors.update(unsafe_text_errors({name: value}))
    return errors


class EdgeParser(FlaskParser):
    """webargs' Flask parser, refusing unstorable text and non-JSON bodies for JSON schemas."""

    def pre_load(self, location_data: Any, *, schema: Schema, req: Any, location: str) -> Any:
        if location == "json" and not _MAYBE_UNSAFE.search(req.get_data(cache=True)):
            return location_data
        if location in _SCANNED:
            errors = _location_errors(location_data)
            if errors:
                raise ValidationError(errors)
        return location_data

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            if req.get_data(cache=True):
                raise UnsupportedMediaType(
                    f"send the body as application/json, not {req.mimetype or 'untyped'}"
                )
            return core.missing
        return parse_json(req.get_data(cache=True))  # webargs' own, read faster


class SafeString(UnicodeConverter):
    """A path segment: an id holding NUL or a lone surrogate names nothing (404)."""

    def to_python(self, value: str) -> str:
        if unsafe_text_reason(value):
            raise NoMatch()
        return value


def _visible_ascii_idempotency_key() -> None:
    # Granian hands a header value that is not ASCII to the app as "", so an empty key
    # gets this reason too: over real HTTP the accented key arrives empty.
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (key and all("\x21" <= char <= "\x7e" for char in key)):
        raise InvalidInput.on(
            IDEMPOTENCY_HEADER,
            "visible ASCII only (letters, digits, punctuation; no spaces or accents),"
            " 1 to 255 characters, such as a UUID",
        )


def register_converters(app: Flask) -> None:
    """Before any route is added: its path arguments are converted by `SafeString`."""
    app.url_map.converters["default"] = SafeString
    app.url_map.converters["string"] = SafeString


def register(app: Flask) -> None:
    """The header check. (The parser is `billing.web.api.Blueprint`'s, bound when a route
    is declared; the document maps `SafeString` as the string it subclasses.)"""
    app.before_request(_visible_ascii_idempotency_key)
