"""Request bodies are capped (MAX_CONTENT_LENGTH), chunked ones included.

Werkzeug refuses an oversized body with a Content-Length at once, but it stops a
chunked one silently at the cap, which would leave truncated JSON for the view.
Reading such a body up front turns "too large" into a clean 413.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wsgi import LimitedStream

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _refuse_oversized_stream() -> None:
    if request.method not in _WITH_BODY or request.content_length is not None:
        return
    request.get_data(cache=True)
    stream = request.stream
    if isinstance(stream, LimitedStream) and stream.is_exhausted:
        stream.read(1)  # at the cap with more to come: raises RequestEntityTooLarge


def register(app: Flask) -> None:
    app.before_request(_refuse_oversized_stream)
