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
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from billing.core.db import Base

BATCH = 2_000
# Columns that never leave: secrets, and bytes written as files of their own.
WITHHELD = {"api_keys": {"secret_sha256", "prefix"}, "invoices": {"pdf"}}
# Rows a tenant owns through another table: (table, column, subquery on that table).
OWNED_THROUGH = {
    "ledger_entries": ("account_id", "ledger_accounts", "id"),
    "invoice_lines": ("invoice_id", "invoices", "id"),
    "callback_inbox": ("topup_id", "topups", "id"),
}
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
        for name, table, query in _parts(session, tenant_id):
            rows = _write_table(zf, session, name, table, query, manifest["files"])
            counts[name] = rows
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


def _write_table(
    zf: zipfile.ZipFile, session: Session, name: str, table: Table, query: Any, files: dict
) -> int:
    withheld = WITHHELD.get(table.name, set())
    columns = [c for c in table.c if c.name not in withheld]
    query = query.with_only_columns(*columns).order_by(*table.primary_key.columns)
    rows = 0
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as spill:
        writer = csv.writer(spill)
        writer.writerow([c.name for c in columns])
        with _entry(zf, f"{name}.jsonl", files) as jsonl:
            result = session.execute(query.execution_options(yield_per=BATCH))
            for partition in result.partitions():
                lines = []
                for row in partition:
                    values = [_plain(value) for value in row]
                    lines.append(json.dumps(dict(zip(row._fields, values, strict=True)),
                                            separators=(",", ":"), ensure_ascii=False))  # fmt: skip
                    writer.writerow([_cell(value) for value in values])
                jsonl.write(("\n".join(lines) + "\n").encode())
                rows += len(partition)
        spill.seek(0)
        with _entry(zf, f"{name}.csv", files) as out:
            while chunk := spill.read(1 << 20):
                out.write(chunk.encode())
    return rows


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


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode()
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "" if value is None else value
