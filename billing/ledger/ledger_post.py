"""Posting on PostgreSQL: calling `ledger_post()`, the SQL function (migrations 0002,
0033, 0034) that runs a posting's steps in one round trip, and numbering ids ahead.

The arrays go as array literals (text the server casts to the parameter's type):
psycopg's adaptation of a Python list (finding the element type, element by element)
was a fifth of the writer's CPU per posting. Every element is quoted and escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing.ledger.postings import Posting, allows_negative, insufficient_funds, plan

INSUFFICIENT_FUNDS_SQLSTATE = "ML001"  # raised by ledger_post()
_LEDGER_POST = "SELECT ledger_post(" + ", ".join(["%s"] * 19) + ")"


@dataclass(frozen=True, slots=True)
class Numbered:
    """A transaction's ids taken ahead of posting it (`number_ahead`): its own, and its
    entries' in the order of its postings (None: numbered as it is posted)."""

    transaction_id: int
    entry_ids: tuple[int | None, ...]


def number_ahead(session: Session, count: int) -> list[tuple[int, int]]:
    """`count` pairs of a fresh transaction id and a fresh entry id, from the ledger's own
    sequences. Rows that name their debit can then be written before it is posted, and
    the debit's locks taken last (`Numbered`)."""
    if count <= 0:
        return []
    rows = session.execute(
        text(
            "SELECT nextval('ledger_transactions_id_seq'), nextval('ledger_entries_id_seq')"
            " FROM generate_series(1, :count)"
        ),
        {"count": count},
    )
    return [(transaction_id, entry_id) for transaction_id, entry_id in rows]


def post_one(
    connection: Connection, header: dict[str, Any], postings: Sequence[Posting]
) -> int | None:
    """One `ledger_post()` call: the transaction's id, or None if the key was posted."""
    try:
        return connection.exec_driver_sql(  # positional: skips SQL compilation on the hot path
            _LEDGER_POST, arguments(header, postings)
        ).scalar()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == INSUFFICIENT_FUNDS_SQLSTATE:
            raise insufficient_funds(error.orig.diag.message_detail) from None
        raise


def post_pipelined(connection: Connection, arg_lists: list[tuple]) -> list[int | None]:
    """`ledger_post()` once per argument list (`arguments`), sent without waiting for
    each answer: one round trip for the lot."""
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(_LEDGER_POST, arg_lists, returning=True)
        ids = []
        while True:
            ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                return ids
    except psycopg.Error as error:
        if error.sqlstate == INSUFFICIENT_FUNDS_SQLSTATE:
            raise insufficient_funds(error.diag.message_detail) from None
        raise
    finally:
        cursor.close()


def arguments(
    header: dict[str, Any], postings: Sequence[Posting], numbered: Numbered | None = None
) -> tuple:
    """`ledger_post()`'s arguments for a transaction row and its postings."""
    planned = plan(postings)
    accounts, entries = planned.accounts, planned.entries
    return (
        header["tenant_id"],
        header["idempotency_key"],
        header["request_sha256"],
        header["kind"],
        header["description"],
        header["reference"],
        header["reverses_id"],
        header["created_at"],
        texts([a.kind for a in accounts]),
        texts([a.currency for a in accounts]),
        numbers([a.delta for a in accounts]),
        numbers([a.entries for a in accounts]),
        booleans([allows_negative(a.kind) for a in accounts]),
        numbers([e.account + 1 for e in entries]),  # SQL arrays count from 1
        numbers([e.amount_minor for e in entries]),
        numbers([e.balance_offset for e in entries]),
        numbers([e.version_offset for e in entries]),
        numbered.transaction_id if numbered else None,
        _numbers_or_nulls(numbered.entry_ids) if numbered else None,
    )


def texts(values: Sequence[str]) -> str:
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def numbers(values: Sequence[int]) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _numbers_or_nulls(values: Sequence[int | None]) -> str:
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def booleans(values: Sequence[bool]) -> str:
    return "{" + ",".join("t" if v else "f" for v in values) + "}"
