"""A statement's parsed lines into a temporary staging table, in the caller's transaction.

PostgreSQL takes them by COPY (a million lines in seconds); SQLite, the laptop default,
by batched INSERTs. Either way nothing is kept once the transaction ends: matching
reads the staging table once, into `settlement_lines`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.settlement.formats.lines import EAT, StatementLine

STAGING = "settlement_staging"
COLUMNS = StatementLine._fields
_SQLITE_BATCH = 5_000
# The staging columns' types, in COLUMNS order, for the binary COPY.
_PG_TYPES = ("int4", "varchar", "varchar", "varchar", "varchar", "varchar", "int8", "int8",
             "varchar", "timestamptz", "varchar", "varchar")  # fmt: skip

_CREATE_PG = f"""
CREATE TEMPORARY TABLE {STAGING} (
    line_no integer NOT NULL, kind varchar(10) NOT NULL, provider varchar(20) NOT NULL,
    provider_txn_id varchar(200), reference varchar(200), msisdn varchar(200),
    amount_minor bigint NOT NULL, fee_minor bigint NOT NULL, currency varchar(3) NOT NULL,
    occurred_at timestamptz NOT NULL, day varchar(10) NOT NULL, linked_txn_id varchar(200)
) ON COMMIT DROP
"""
_CREATE_SQLITE = f"""
CREATE TEMPORARY TABLE {STAGING} (
    line_no INTEGER NOT NULL, kind TEXT NOT NULL, provider TEXT NOT NULL,
    provider_txn_id TEXT, reference TEXT, msisdn TEXT, amount_minor INTEGER NOT NULL,
    fee_minor INTEGER NOT NULL, currency TEXT NOT NULL, occurred_at TEXT NOT NULL,
    day TEXT NOT NULL, linked_txn_id TEXT
)
"""


@dataclass
class Staged:
    """What was staged: how many lines, and the local days its payments fall on."""

    lines: int = 0
    payment_days: set[str] = field(default_factory=set)
    other_days: set[str] = field(default_factory=set)

    def note(self, line: StatementLine) -> None:
        self.lines += 1
        (self.payment_days if line.kind == "payment" else self.other_days).add(line.day)

    def period(self) -> tuple[datetime, datetime] | None:
        """[first local midnight, midnight after the last) of the payments' days, in UTC."""
        days = self.payment_days or self.other_days
        if not days:
            return None
        first, last = min(days), max(days)
        start = datetime.combine(date.fromisoformat(first), time(), EAT).astimezone(UTC)
        end = datetime.combine(date.fromisoformat(last), time(), EAT) + timedelta(days=1)
        return start, end.astimezone(UTC)


def stage(session: Session, lines: Iterable[StatementLine]) -> Staged:
    """Load every line into the staging table; a parse error raises out of here."""
    staged = Staged()
    if is_postgresql(session):
        _copy(session, lines, staged)
    else:
        _insert(session, lines, staged)
    return staged


def _copy(session: Session, lines: Iterable[StatementLine], staged: Staged) -> None:
    session.execute(text(_CREATE_PG))
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(
            f"COPY {STAGING} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            # Binary: psycopg's C dumpers write ints and instants as they are, a third of
            # the text form's CPU (which formats every datetime as text).
            copy.set_types(_PG_TYPES)
            note = staged.note
            write = copy.write_row
            for line in lines:
                note(line)
                write(line)
    finally:
        cursor.close()


def _insert(session: Session, lines: Iterable[StatementLine], staged: Staged) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS temp.{STAGING}"))
    session.execute(text(_CREATE_SQLITE))
    statement = text(
        f"INSERT INTO {STAGING} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join(':' + name for name in COLUMNS)})"
    )
    lines = iter(lines)
    while batch := list(islice(lines, _SQLITE_BATCH)):
        rows = []
        for line in batch:
            staged.note(line)
            row = line._asdict()
            # SQLAlchemy's own SQLite form for a DateTime: naive UTC with microseconds.
            row["occurred_at"] = (
                line.occurred_at.astimezone(UTC)
                .replace(tzinfo=None)
                .isoformat(sep=" ", timespec="microseconds")
            )
            rows.append(row)
        session.execute(statement, rows)


def drop(session: Session) -> None:
    """SQLite keeps a temporary table for the connection's life: drop it (PostgreSQL's
    goes at commit by itself)."""
    if not is_postgresql(session):
        session.execute(text(f"DROP TABLE IF EXISTS temp.{STAGING}"))
