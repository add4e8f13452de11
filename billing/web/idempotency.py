"""`Idempotency-Key` on creating POSTs: a retry replays the first response.

The key's row is inserted in the request's own transaction, before the work: a
concurrent twin blocks on the unique index until the first request commits, then
replays its stored response. A failed request rolls back with its key, so the
client may simply retry. The same key with another body is refused (422).

A secret a response shows once (a new API key) is never stored: the record keeps the
body with that field set to null and `<field>_shown_once: true`, and a replay says so.
Encrypting it for the replay window was the other choice; redaction was taken because a
secret that is never written cannot leak with a database dump (nor with the SECRET_KEY
beside it), needs no key rotation or expiry sweep, and a client that lost the first
answer can still recover: an admin or tenant admin issues a new key and revokes the old.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, jsonify, request
from sqlalchemy import select, update

from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.core.errors import IdempotencyKeyReused, InvalidInput
from billing.web.models import IdempotencyRecord
from billing.web.session import request_session

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
_records = IdempotencyRecord.__table__


def idempotent(view: F | None = None, *, shown_once: tuple[str, ...] = ()) -> Any:
    """`@idempotent`, or `@idempotent(shown_once=("api_key",))` for a response carrying a
    secret that must not be kept for the replay."""
    if view is None:
        return lambda inner: idempotent(inner, shown_once=shown_once)

    @wraps(view)
    def once(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise InvalidInput.on(HEADER, "must be 1 to 255 characters")
        session = request_session()
        scope, digest = _caller_scope(), _request_digest()
        inserted = session.execute(
            insert_for(session, _records)
            .values(scope=scope, key=key, request_sha256=digest, created_at=utcnow())
            .on_conflict_do_nothing()
            .returning(_records.c.id)
        ).first()
        if inserted is None:
            return _replay(scope, key, digest)
        response: Response = view(*args, **kwargs)
        session.execute(
            update(_records)
            .where(_records.c.id == inserted.id)
            .values(
                response_status=response.status_code,
                response_body=_without_secrets(response.get_json(), shown_once),
            )
        )
        return response

    return once  # type: ignore[return-value]


def _without_secrets(body: Any, shown_once: tuple[str, ...]) -> Any:
    if not shown_once or not isinstance(body, dict):
        return body
    kept = dict(body)
    for field in shown_once:
        if field in kept:
            kept[field] = None
            kept[f"{field}_shown_once"] = True
    return kept


def _request_digest() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(
        [
            request.method,
            request.path,
            body if body is not None else request.get_data(as_text=True),
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(scope: str, key: str, digest: str) -> Response:
    record = (
        request_session()
        .execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        .scalar_one()
    )
    if record.request_sha256 != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request",
            {HEADER: ["already used with a different request"]},
        )
    response = jsonify(record.response_body)
    response.status_code = record.response_status or 200
    response.headers["Idempotent-Replayed"] = "true"
    return response


def scoped_by(finder: Callable[[], str]) -> None:
    """Name how the caller's scope is found (`billing.auth.access` does, on import): a key
    is the caller's own, and this floor does not know callers."""
    global _caller_scope
    _caller_scope = finder


def _caller_scope() -> str:
    raise LookupError("no caller scope: billing.auth.access registers it with scoped_by()")
