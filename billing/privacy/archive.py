"""Writing an export archive: one zip of JSON Lines and CSV files, the invoices' PDFs and a
manifest of sha256 checksums, streamed so memory stays flat however many rows there are.

Which rows: every table with a `tenant_id` column (so a table another capability adds
is exported without a change here), plus the rows owned another way (the tenant
itself, its ledger entries through its accounts, its invoices' lines, the callbacks
that confirmed its top-ups). Secrets never leave: API keys' hashes and prefixes are
left out. The caller runs this in the tenant's own row-level security scope, so the
database itself refuses to hand over another tenant's row.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum as PyEnum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    Table,
    select,
)
from sqlalchemy.orm import Session

from billing.core.db import Base, is_postgresql

BATCH = 2_000
# Columns that never leave: secrets, and bytes written as files of their own.
WITHHELD = {"api_keys": {"secret_sha256", "prefix"}, "invoices": {"pdf"}}
# Rows a tenant owns through another table: (table, column, subquery on that table).
OWNED_THROUGH = {
    "ledger_entries": ("account_id", "ledger_accounts", "id"),
    "invoice_lines": ("invoice_id", "invoices", "id"),
    "callback_inbox": ("topup_id", "topups", "id"),
}
# Read in the order of an index the query uses anyway: by primary key, a partitioned
# table's rows would all be sorted before the first one came.
ORDER = {"usage_records": ("tenant_id", "occurred_at")}
# Tables whose rows are not the tenant's data (bookkeeping of the service itself).
SKIPPED = {"erasure_requests", "data_exports"}


@dataclass
class Part:
    rows: int = 0
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # name: (sha256, bytes)


def write_archive(session: Session, tenant_id: str, path: Path) -> dict[str, int]:
    """Write the tenant's archive to `path`; the number of rows of each part."""
    manifest: dict[str, Any] = {"tenant_id": tenant_id, "format": 1, "files": {}}
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        write = _copy_table if is_postgresql(session) else _write_table
        for name, table, query in _parts(session, tenant_id):
            counts[name] = write(zf, session, name, table, query, manifest["files"])
        counts["invoice_pdfs"] = _write_pdfs(zf, session, tenant_id, manifest["files"])
        manifest["counts"] = counts
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return counts


def _parts(session: Session, tenant_id: str) -> Iterator[tuple[str, Table, Any]]:
    tables = Base.metadata.tables
    yield (
        "tenant",
        tables["tenants"],
        select(tables["tenants"]).where(tables["tenants"].c.id == tenant_id),
    )
    for name, table in sorted(tables.items()):
        if name in SKIPPED or "tenant_id" not in table.c:
            continue
        yield name, table, select(table).where(table.c.tenant_id == tenant_id)
    for name, (column, parent, key) in OWNED_THROUGH.items():
        owner = tables[parent]
        mine = select(owner.c[key]).where(owner.c.tenant_id == tenant_id)
        table = tables[name]
        yield name, table, select(table).where(table.c[column].in_(mine))


def _selected(table: Table, query: Any) -> tuple[Any, list[str]]:
    withheld = WITHHELD.get(table.name, set())
    columns = [c for c in table.c if c.name not in withheld]
    order = [table.c[name] for name in ORDER.get(table.name, ())] or table.primary_key.columns
    return query.with_only_columns(*columns).order_by(*order), [c.name for c in columns]


# JSON Lines straight from PostgreSQL: CSV format with a quote and a delimiter JSON never
# holds raw (it escapes control characters), so each line is row_to_json's text as is.
_JSONL_COPY = (
    "COPY (SELECT row_to_json(t) FROM ({}) AS t)"
    " TO STDOUT (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
)
_CSV_COPY = "COPY ({}) TO STDOUT (FORMAT csv, HEADER)"


def _copy_table(
    zf: zipfile.ZipFile, session: Session, name: str, table: Table, query: Any, files: dict
) -> int:
    """PostgreSQL: the database writes both files (COPY … TO STDOUT), streamed into the
    archive chunk by chunk; no row becomes a Python object. The same transaction, so the
    same row-level security scope."""
    query, _names = _selected(table, query)
    sql = str(query.compile(dialect=session.get_bind().dialect,
                            compile_kwargs={"literal_binds": True}))  # fmt: skip
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute("SET LOCAL TimeZone = 'UTC'")
    rows = 0
    with _entry(zf, f"{name}.jsonl", files) as out, cursor.copy(_JSONL_COPY.format(sql)) as copy:
        for chunk in copy:
            data = bytes(chunk)
            rows += data.count(b"\n")
            out.write(data)
    with _entry(zf, f"{name}.csv", files) as out, cursor.copy(_CSV_COPY.format(sql)) as copy:
        for chunk in copy:
            out.write(bytes(chunk))
    return rows


def _write_table(
    zf: zipfile.ZipFile, session: Session, name: str, table: Table, query: Any, files: dict
) -> int:
    query, names = _selected(table, query)
    columns = [table.c[name] for name in names]
    # Each column's conversion, chosen once: most values go out as they come.
    plain = [(i, converter) for i, c in enumerate(columns) if (converter := _converter(c.type))]
    structured = [i for i, c in enumerate(columns) if isinstance(c.type, JSON)]
    rows = 0
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as spill:
        writer = csv.writer(spill)
        writer.writerow(names)
        with _entry(zf, f"{name}.jsonl", files) as jsonl:
            result = session.execute(query.execution_options(yield_per=BATCH))
            for partition in result.partitions():
                lines, cells = [], []
                for row in partition:
                    values = list(row)
                    for index, converter in plain:
                        if values[index] is not None:
                            values[index] = converter(values[index])
                    lines.append(_encode(dict(zip(names, values, strict=True))))
                    for index in structured:
                        if values[index] is not None:
                            values[index] = _encode(values[index])
                    cells.append(values)
                writer.writerows(cells)
                jsonl.write(("\n".join(lines) + "\n").encode())
                rows += len(partition)
        spill.seek(0)
        with _entry(zf, f"{name}.csv", files) as out:
            while chunk := spill.read(1 << 20):
                out.write(chunk.encode())
    return rows


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _converter(column_type: Any) -> Any:
    """How a column's values become JSON: None when they already are."""
    kind = getattr(column_type, "impl", column_type)
    if isinstance(kind, DateTime | Date):
        return _isoformat
    if isinstance(kind, Numeric) and not isinstance(kind, Integer | Float):
        return str
    if isinstance(kind, Enum):
        return _enum_value
    if isinstance(kind, LargeBinary):
        return _bytes
    return None


def _isoformat(value: date | datetime) -> str:
    return value.isoformat()


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, PyEnum) else value


def _bytes(value: bytes | memoryview) -> str:
    raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode()


def _write_pdfs(zf: zipfile.ZipFile, session: Session, tenant_id: str, files: dict) -> int:
    invoices = Base.metadata.tables["invoices"]
    query = (
        select(invoices.c.id, invoices.c.number_text, invoices.c.pdf)
        .where(invoices.c.tenant_id == tenant_id, invoices.c.pdf.is_not(None))
        .order_by(invoices.c.id)
        .execution_options(yield_per=50)
    )
    written = 0
    for invoice_id, number, pdf in session.execute(query):
        with _entry(zf, f"invoices/{number or invoice_id}.pdf", files) as out:
            out.write(bytes(pdf))
        written += 1
    return written


class _Hashing(io.RawIOBase):
    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)


class _entry:
    """An archive member written as a stream, its checksum recorded in the manifest."""

    def __init__(self, zf: zipfile.ZipFile, name: str, files: dict) -> None:
        self.zf, self.name, self.files = zf, name, files

    def __enter__(self) -> _Hashing:
        self.raw = self.zf.open(self.name, "w", force_zip64=True)
        self.hashing = _Hashing(self.raw)
        return self.hashing

    def __exit__(self, *exc: object) -> None:
        self.raw.close()
        self.files[self.name] = {"sha256": self.hashing.digest.hexdigest(),
                                 "bytes": self.hashing.size}  # fmt: skip
