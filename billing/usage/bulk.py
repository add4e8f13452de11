"""PostgreSQL fast paths for the two bulk writes of usage: storing and writing ratings.

Storing rated rows (intake, keys checked new first): one binary COPY straight into
usage_records. Storing pending rows: COPYed into a temporary staging table and moved
with one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`, so dedupe stays the
database's unique key while the bytes travel as COPY does. Ratings: COPYed the same way and applied
with one `UPDATE … FROM` per batch instead of a statement per row. Other databases take
the portable path in `intake` and `rating`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import psycopg
from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.orm import Session

from billing.usage.json_cells import breakdown_json, json_cell
from billing.usage.models import UsageRecord

_STAGE = "usage_stage"
# Column types of the rating staging table.
RESULT_TYPES = {
    "status": "text", "reason": "text", "rated_at": "timestamptz", "plan_id": "text",
    "plan_version": "int", "zone": "text", "band": "text", "unit": "text",
    "billed_units": "bigint", "bundle_units": "bigint", "currency": "text",
    "net_minor": "bigint", "vat_minor": "bigint", "raw_amount": "text", "fx_rate": "numeric",
    "breakdown": "json", "ledger_transaction_id": "bigint", "ledger_entry_id": "bigint",
}  # fmt: skip


def _cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()


_JSON_COLUMNS = frozenset({"raw", "breakdown"})


@cache
def _staging_sql(columns: tuple[str, ...]) -> tuple[str, str, str, str]:
    # Column names are the module's own constants, never input: safe to format in. Each
    # column list stages in its own table (a session may store both ways).
    names = ", ".join(columns)
    stage = f"{_STAGE}_{zlib.crc32(names.encode()):08x}"
    create = (
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"  # noqa: S608
        f" SELECT {names} FROM usage_records WITH NO DATA"
    )
    copy = f"COPY {stage} ({names}) FROM STDIN"
    # The unique key holds within a month's partition (migration 0028); a key stored in
    # another month is skipped by the NOT EXISTS, which reads the same index's prefix.
    move = (
        f"INSERT INTO usage_records ({names}) SELECT {names} FROM {stage} AS s"  # noqa: S608
        " WHERE NOT EXISTS (SELECT 1 FROM usage_records AS u"
        ' WHERE u.source_system = s.source_system COLLATE "C"'
        ' AND u.source_id = s.source_id COLLATE "C" AND u.revision = s.revision)'
        " ON CONFLICT (source_system, source_id, revision, started_at) DO NOTHING"
        " RETURNING id, source_system, source_id"
    )
    return create, copy, move, stage


def copy_insert(
    session: Session, columns: tuple[str, ...], rows: Sequence[dict]
) -> dict[tuple[str, str], int]:
    """Insert rows whose (source_system, source_id, revision) is new; their ids by key."""
    create, copy_sql, move, stage = _staging_sql(columns)
    encoded = [index for index, name in enumerate(columns) if name in _JSON_COLUMNS]
    with _cursor(session) as cursor:
        cursor.execute(create)
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                values = [row[name] for name in columns]
                for index in encoded:
                    values[index] = json_cell(values[index])
                copy.write_row(values)
        cursor.execute(move)
        written = {(system, source): usage_id for usage_id, system, source in cursor.fetchall()}
        cursor.execute(f"TRUNCATE {stage}")
    return written


class KeyTaken(Exception):
    """A row's (source_system, source_id, revision) was stored by another transaction."""


# PostgreSQL types of the columns, for binary COPY: the driver then packs each value
# straight into the wire format (several times cheaper a row than text COPY's dumpers).
# JSON goes as text we encode ourselves: the server's json input takes the bytes as they
# are, and the stored text stays the compact form the other paths write.
_BINARY_TYPES = ((BigInteger, "int8"), (Integer, "int4"), (Numeric, "numeric"),
    (DateTime, "timestamptz"), (JSON, "text"), (String, "text"))  # fmt: skip


def _binary_type(name: str) -> str:
    column_type = UsageRecord.__table__.c[name].type
    column_type = getattr(column_type, "impl", column_type)  # UtcDateTime
    for kind, pg_type in _BINARY_TYPES:
        if isinstance(column_type, kind):
            return pg_type
    raise TypeError(f"no binary COPY type for usage_records.{name}")


@cache
def _direct_copy(columns: tuple[str, ...]) -> tuple[str, list[str], tuple[tuple[int, Any], ...]]:
    sql = f"COPY usage_records ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    encoded = tuple(
        (index, breakdown_json if name == "breakdown" else json_cell)
        for index, name in enumerate(columns)
        if name in _JSON_COLUMNS
    )
    return sql, [_binary_type(name) for name in columns], encoded


def copy_new(session: Session, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows whose keys were found new straight into usage_records, in binary.

    Each row is its values in `columns` order (a list is encoded in place). No staging
    table and no `INSERT … SELECT`: the rows are written once. The unique key still
    guards against a batch that stored one of the keys since they were checked (or a key
    the caller's probe did not look up): the COPY then fails and `KeyTaken` is raised
    (the caller's savepoint is undone and the batch redone). Timestamps must be aware;
    JSON columns take a dict.
    """
    sql, types, encoded = _direct_copy(columns)
    staged = _copy_refused(session)
    with _cursor(session) as cursor:
        try:
            if staged:
                create, sql, move = _row_secure_copy(columns)
                cursor.execute(create)
            with cursor.copy(sql) as copy:
                copy.set_types(types)
                write_row = copy.write_row
                for values in rows:
                    if values.__class__ is not list:
                        values = list(values)
                    for index, encode in encoded:
                        if (value := values[index]) is not None:  # None stays NULL
                            values[index] = encode(value)
                    write_row(values)
            if staged:
                cursor.execute(move)
                cursor.execute(f"TRUNCATE {_SECURE_STAGE}")
        except psycopg.errors.UniqueViolation as error:
            raise KeyTaken(str(error)) from error


_SECURE_STAGE = "usage_secure_stage"


def _copy_refused(session: Session) -> bool:
    """PostgreSQL refuses COPY FROM into a table under row-level security for a role that
    cannot bypass it (the service's): such rows go through a temporary table and one
    `INSERT … SELECT`, which the policy checks. Asked once per connection."""
    info = session.connection().info
    if "usage_copy_refused" not in info:
        info["usage_copy_refused"] = (
            session.connection()
            .exec_driver_sql(
                "SELECT c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls)"
                " FROM pg_class c, pg_roles r"
                " WHERE c.oid = 'usage_records'::regclass AND r.rolname = current_user"
            )
            .scalar_one()
        )
    return info["usage_copy_refused"]


@cache
def _row_secure_copy(columns: tuple[str, ...]) -> tuple[str, str, str]:
    names = ", ".join(columns)  # the module's own constants, as above
    create = (
        f"CREATE TEMP TABLE IF NOT EXISTS {_SECURE_STAGE} ON COMMIT DELETE ROWS AS"  # noqa: S608
        " SELECT * FROM usage_records WITH NO DATA"
    )
    copy = f"COPY {_SECURE_STAGE} ({names}) FROM STDIN (FORMAT BINARY)"
    move = f"INSERT INTO usage_records ({names}) SELECT {names} FROM {_SECURE_STAGE}"  # noqa: S608
    return create, copy, move


def stored_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source_system, source_id) pairs are already stored (revision 0).

    The keys are compared in the columns' collation, "C" (migration 0012), so the
    lookup reads the unique index.
    """
    if not keys:
        return set()
    with _cursor(session) as cursor:
        cursor.execute(
            "SELECT u.source_system, u.source_id"
            " FROM unnest(%s::text[], %s::text[]) AS k(source_system, source_id)"
            ' JOIN usage_records AS u ON u.source_system = k.source_system COLLATE "C"'
            ' AND u.source_id = k.source_id COLLATE "C" AND u.revision = 0',
            (text_array([system for system, _ in keys]), text_array([s for _, s in keys])),
        )
        return set(cursor.fetchall())


def text_array(items: Sequence[str | None]) -> str:
    """A PostgreSQL text[] literal, for a `%s::text[]` parameter.

    The driver's list adapter inspects and escapes each element in Python (70 ms for a
    batch's 10,000 keys); here each element is quoted with its backslashes and double
    quotes escaped, the array syntax's only special characters inside quotes.
    """
    quoted = (
        "NULL" if item is None else '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for item in items
    )
    return "{" + ",".join(quoted) + "}"


def next_ids(session: Session, count: int) -> list[int]:
    """`count` fresh usage_records ids from the table's own sequence, in order.

    The sequence is named once, cast and all, in a scalar subquery: as nextval's argument
    `pg_get_serial_sequence` is a catalogue lookup a row, and a cast outside the subquery
    a name lookup a row (each about the nextvals' own cost). The ids come back as one
    binary array: a row each cost the client 4x the CPU.
    """
    with session.connection().connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(
            "SELECT array_agg(nextval("
            "(SELECT pg_get_serial_sequence('usage_records', 'id')::regclass)))"
            " FROM generate_series(1, %s)",
            (count,),
        )
        (ids,) = cursor.fetchone()
    return sorted(ids or ())


_RATED = "usage_rated"


@cache
def _update_sql(names: tuple[str, ...]) -> tuple[str, str, str]:
    # As above: the names are RESULT_TYPES keys, checked here.
    columns = ", ".join(f"{name} {RESULT_TYPES[name]}" for name in names)
    create = (
        f"CREATE TEMP TABLE IF NOT EXISTS {_RATED} (id bigint, {columns}) ON COMMIT DELETE ROWS"
    )
    copy = f"COPY {_RATED} (id, {', '.join(names)}) FROM STDIN"
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    # The id range lets the planner read the batch by primary key: joined on id alone it
    # hashes the staging table and scans every usage row, once per batch.
    update = (
        f"UPDATE usage_records AS u SET {sets} FROM {_RATED} AS v"  # noqa: S608
        " WHERE u.id = v.id AND u.id BETWEEN %s AND %s"
    )
    return create, copy, update


def copy_update(session: Session, ids: list[int], columns: dict[str, list[Any]]) -> None:
    """Set each column of each row `ids[i]` to `columns[name][i]`: COPY, then one UPDATE.

    The staging table is analysed first and the batch's id range given, so the planner
    joins by primary key rather than scanning a table of millions for a batch of thousands.
    """
    names = tuple(columns)
    create, copy_sql, update = _update_sql(names)
    if "breakdown" in columns:
        columns = {**columns, "breakdown": [breakdown_json(item) for item in columns["breakdown"]]}
    series = [columns[name] for name in names]
    with _cursor(session) as cursor:
        cursor.execute(create)
        with cursor.copy(copy_sql) as copy:
            for index, usage_id in enumerate(ids):
                copy.write_row([usage_id, *(values[index] for values in series)])
        cursor.execute(f"ANALYZE {_RATED}")
        cursor.execute(update, (min(ids), max(ids)))
        cursor.execute(f"TRUNCATE {_RATED}")
