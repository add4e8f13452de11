"""Loading destination prefixes: all rows of a file or none, fast.

A file is checked whole before anything is written: every bad line, and every row whose
validity overlaps another row of the same prefix (in the file or stored), is reported by
line number, and then nothing is loaded. A row that starts after a stored open-ended row
of its prefix supersedes it: the stored row is closed at the new row's start (never
deleted, so past usage still rates as it did). A row identical to a stored one is left
alone, so loading the same file twice changes nothing. PostgreSQL takes the rows by COPY;
SQLite in batches of `BATCH`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.core.errors import InvalidInput
from billing.tariffs.destination_csv import PrefixRow, parse_destinations
from billing.tariffs.fx import bump_generation
from billing.tariffs.models import DestinationPrefix, TariffGeneration

BATCH = 5_000
MAX_REPORTED_LINES = 200
_table = DestinationPrefix.__table__
_COLUMNS = ("prefix", "zone", "name", "country", "operator", "market", "valid_from", "valid_to")
_COPY_TYPES = ["text"] * 6 + ["timestamptz"] * 3


@dataclass(frozen=True)
class LoadSummary:
    loaded: int  # new rows written
    superseded: int  # stored rows closed at a new row's start
    unchanged: int  # rows already stored exactly so


@dataclass(slots=True)
class _Span:
    start: datetime | None
    end: datetime | None
    stored_id: int | None  # None for a row of this file
    line: int
    content: tuple  # a stored row's, to tell an identical row; () for a row of this file


def load_destination_file(session: Session, lines: Iterable[str]) -> LoadSummary:
    """Check and load a destination CSV inside the caller's transaction.

    Loads queue on the destinations generation row, so two files checked at once cannot
    both place an overlapping row.
    """
    session.execute(
        select(TariffGeneration.generation)
        .where(TariffGeneration.name == "destinations")
        .with_for_update()
    )
    parsed = parse_destinations(lines)
    errors = dict(parsed.errors)
    spans = _stored_spans(session, {row.prefix for row in parsed.rows})
    new_rows: list[PrefixRow] = []
    closures: dict[int, datetime] = {}
    unchanged = 0
    for row in parsed.rows:
        verdict = _place(row, spans.setdefault(row.prefix, []), closures)
        if verdict == "unchanged":
            unchanged += 1
        elif verdict == "new":
            new_rows.append(row)
        else:
            errors.setdefault(row.line, []).append(verdict)
    if errors:
        raise _refusal(errors)
    _close(session, closures)
    _insert(session, new_rows)
    if new_rows or closures:
        bump_generation(session, "destinations")
    return LoadSummary(len(new_rows), len(closures), unchanged)


def _stored_spans(session: Session, prefixes: set[str]) -> dict[str, list[_Span]]:
    spans: dict[str, list[_Span]] = {}
    if not prefixes:
        return spans
    rows = session.execute(select(_table.c.id, *(_table.c[name] for name in _COLUMNS)))
    for row in rows:
        if row.prefix in prefixes:
            content = tuple(row[1:])
            spans.setdefault(row.prefix, []).append(
                _Span(row.valid_from, row.valid_to, row.id, 0, content)
            )
    return spans


def _place(row: PrefixRow, spans: list[_Span], closures: dict[int, datetime]) -> str:
    """'new', 'unchanged', or why the row cannot be placed; may schedule a closure."""
    if not spans:  # the common case: a prefix seen for the first time
        spans.append(_Span(row.valid_from, row.valid_to, None, row.line, ()))
        return "new"
    content = row.content
    for span in spans:
        if (
            span.stored_id is not None
            and span.content == content
            and span.stored_id not in closures
        ):
            return "unchanged"
    superseding = None
    for span in spans:
        end = closures.get(span.stored_id, span.end) if span.stored_id else span.end
        if not _overlaps(span.start, end, row.valid_from, row.valid_to):
            continue
        if (
            span.stored_id is not None
            and end is None
            and row.valid_from is not None
            and (span.start is None or span.start < row.valid_from)
            and superseding is None
        ):
            superseding = span
            continue
        where = f"line {span.line}" if span.stored_id is None else "a stored row"
        since = span.start.isoformat() if span.start else "the beginning"
        return (
            f"prefix {row.prefix} overlaps {where} valid from {since}; "
            "give valid_from to supersede a row from a date"
        )
    if superseding is not None:
        closures[superseding.stored_id] = row.valid_from  # type: ignore[index]
    spans.append(_Span(row.valid_from, row.valid_to, None, row.line, ()))
    return "new"


def _overlaps(
    a_start: datetime | None,
    a_end: datetime | None,
    b_start: datetime | None,
    b_end: datetime | None,
) -> bool:
    starts_before_b_ends = b_end is None or a_start is None or a_start < b_end
    b_starts_before_a_ends = a_end is None or b_start is None or b_start < a_end
    return starts_before_b_ends and b_starts_before_a_ends


def _refusal(errors: dict[int, list[str]]) -> InvalidInput:
    lines = sorted(errors)
    shown = {f"line {line}": errors[line] for line in lines[:MAX_REPORTED_LINES]}
    more = len(lines) - len(shown)
    detail = f"{len(lines)} bad line(s); nothing was loaded"
    if more:
        detail += f" (the first {MAX_REPORTED_LINES} are listed)"
    return InvalidInput(detail, shown)


def _close(session: Session, closures: dict[int, datetime]) -> None:
    if not closures:
        return
    statement = (
        update(_table)
        .where(_table.c.id == bindparam("row_id"))
        .values(valid_to=bindparam("closed_at"))
    )
    session.execute(statement, [{"row_id": key, "closed_at": at} for key, at in closures.items()])


def _insert(session: Session, rows: list[PrefixRow]) -> None:
    if not rows:
        return
    now = utcnow()
    if is_postgresql(session):
        _copy(session, rows, now)
        return
    statement = insert(_table)
    for start in range(0, len(rows), BATCH):
        session.execute(
            statement,
            [
                dict(zip(_COLUMNS, row.content, strict=True), created_at=now)
                for row in rows[start : start + BATCH]
            ],
        )


def _copy(session: Session, rows: list[PrefixRow], now: datetime) -> None:
    connection = session.connection().connection.driver_connection
    columns = ", ".join((*_COLUMNS, "created_at"))
    statement = f"COPY destination_prefixes ({columns}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        copy.set_types(_COPY_TYPES)
        for row in rows:
            copy.write_row((*row.content, now))
