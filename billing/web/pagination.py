"""Opaque cursors for newest-first lists: clients pass back what they were given."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.core.errors import InvalidInput

# A cursor is the position to read before: `v1.` and digits, so a client (and the
# document) can tell a well-formed cursor from garbage; it is still to be passed back as
# given, not built.
CURSOR_PATTERN = r"^v1\.[0-9]{1,18}$"


class PageArgs(Schema):
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(CURSOR_PATTERN, error="not a cursor this API gave out"),
        metadata={"description": "a `next_cursor` this API gave out"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def encode_cursor(position: int) -> str:
    return f"v1.{position}"


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    version, _, position = cursor.partition(".")
    if version != "v1" or not position.isascii() or not position.isdigit() or len(position) > 18:
        raise InvalidInput.on("cursor", "not a cursor this API gave out")
    return int(position)
