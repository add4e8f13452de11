"""The two finders every resource has: one row on behalf of a caller, and a page of rows.

A caller is a tenant (`tenant_id` given: its own rows only; another tenant's row is
answered 404, exactly as a row that does not exist, so ids cannot be probed) or staff
(`tenant_id` None: every tenant's). Row-level security says the same in the database;
this is the application's half, which SQLite has too.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billing.core.errors import NotFound

Row = TypeVar("Row")


def owned(
    session: Session,
    model: type[Row],
    row_id: str,
    tenant_id: str | None,
    what: str,
    *,
    lock: bool = False,
) -> Row:
    """The row `row_id` of `model`, if the caller may see it; otherwise 404 naming `what`."""
    row = session.get(model, row_id, with_for_update=lock or None)
    if row is None or (tenant_id is not None and row.tenant_id != tenant_id):  # type: ignore[attr-defined]
        raise NotFound(f"{what} {row_id} not found")
    return row


def newest_first(
    session: Session,
    model: type[Row],
    *,
    tenant_id: str | None,
    before: str | None,
    limit: int,
    **equal: Any,
) -> list[Row]:
    """A page of `model`'s rows, newest first: ids sort by creation time, so the last id
    of a page is the next page's `before`. Keyword filters given as None are not applied."""
    query: Select[tuple[Row]] = select(model).order_by(model.id.desc()).limit(limit)  # type: ignore[attr-defined]
    for column, value in {"tenant_id": tenant_id, **equal}.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    if before is not None:
        query = query.where(model.id < before)  # type: ignore[attr-defined]
    return list(session.execute(query).scalars())
