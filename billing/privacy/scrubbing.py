"""Replacing personal values quoted in free text, JSON and raw bodies (erasure's part
that is not a column of its own): review items, platform events, audit details,
callbacks, stored POST replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, LargeBinary, String, bindparam, text
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.privacy.pseudonyms import replace_all, scrub_json

# Free text and JSON that may quote personal data, each by how its rows are this tenant's.
_FREE_TEXT = (
    ("review_items", ("summary", "detail"), "tenant_id = :t"),
    ("platform_events", ("data",), "tenant_id = :t"),
    ("audit_events", ("detail",), "tenant_id = :t"),
    ("callback_inbox", ("headers", "event", "error", "body"),
     "topup_id IN (SELECT id FROM topups WHERE tenant_id = :t)"
     " OR id IN (SELECT inbox_id FROM review_items WHERE tenant_id = :t)"),
)  # fmt: skip


def scrub_free_text(session: Session, tenant_id: str, replacements: dict[str, str]) -> dict:
    counts = {}
    for table, columns, mine in _FREE_TEXT:
        rows = session.execute(
            text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE {mine}"),  # noqa: S608
            {"t": tenant_id},
        ).all()
        changed = 0
        for row in rows:
            new = {name: _scrubbed(getattr(row, name), replacements) for name in columns}
            if any(new[name] != getattr(row, name) for name in columns):
                _write(session, table, row.id, new)
                changed += 1
        counts[table] = changed
    return counts


def _scrubbed(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        text_ = raw.decode("utf-8", errors="replace")
        return raw if replace_all(text_, replacements) == text_ else b""  # a raw body: emptied
    if isinstance(value, str):
        return replace_all(value, replacements)
    return scrub_json(value, replacements)


def _write(session: Session, table: str, row_id: Any, values: dict[str, Any]) -> None:
    types = {name: (LargeBinary() if isinstance(v, bytes) else String() if isinstance(v, str)
                    else JSON()) for name, v in values.items()}  # fmt: skip
    sets = ", ".join(f"{name} = :{name}" for name in values)
    statement = text(f"UPDATE {table} SET {sets} WHERE id = :row_id")  # noqa: S608
    statement = statement.bindparams(*(bindparam(n, type_=t) for n, t in types.items()))
    session.execute(statement, {**values, "row_id": row_id})


def forget_replays(session: Session, tenant_id: str, replacements: dict[str, str]) -> int:
    """A tenant's stored responses are deleted; staff responses that quote it (the
    tenant's creation) have the personal values replaced."""
    deleted = session.execute(
        text("DELETE FROM idempotency_records WHERE scope = :s"), {"s": f"tenant:{tenant_id}"}
    ).rowcount
    query = "SELECT id, response_body FROM idempotency_records WHERE response_body IS NOT NULL"
    params: dict[str, Any] = {}
    if is_postgresql(session):  # only the rows that quote one of the values
        query += " AND response_body::text LIKE ANY (:patterns)"
        params["patterns"] = [f"%{value}%" for value in replacements]
    rows = session.execute(text(query), params).all()
    for row in rows:
        scrubbed = scrub_json(row.response_body, replacements)
        if scrubbed != row.response_body:
            _write(session, "idempotency_records", row.id, {"response_body": scrubbed})
            deleted += 1
    return deleted
