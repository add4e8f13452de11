"""Opaque cursors for newest-first lists: clients pass back what they were given."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, fields, validate

from billing.core.errors import InvalidInput


class PageArgs(Schema):
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, position = text.partition(":")
        if version != "v1":
            raise ValueError(version)
        return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.on("cursor", "not a cursor this API gave out") from None
