"""Export of a tenant with many usage records: .venv/bin/python bench/export.py [--records N]

Builds a database of its own (malipo_bench_export, or $MALIPO_BENCH_EXPORT_DB) the way a
deployment has it: migrated by an owner role, used by a service role that owns nothing
and is bound by row-level security. Loads N usage records (default 1,000,000) for one
tenant, and a few for another, with a binary COPY, then builds that tenant's export
archive in a child process as the service role (the `privacy.export` job's code),
printing wall time, archive size and the child's peak RSS beside the targets: memory
must not grow with the number of records (the rows are streamed through a server-side
cursor, JSON Lines straight into the zip, CSV through a spill file).

`--copy-compare` also times the bare COPY of the same rows into usage_records before
partitioning (migration 0022) and at head (monthly partitions), as the owner.
"""

from __future__ import annotations

import os.path
import sys

# bench/invoices.py would shadow the `invoices` package: this folder is not a library.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse
import os
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import make_url, text

from billing.core.config import normalise_database_url
from billing.core.db import make_engine
from billing.schema import grant_service_role, upgrade

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("MALIPO_BENCH_EXPORT_DB", "malipo_bench_export")
OWNER = os.environ.get("MALIPO_BENCH_OWNER_ROLE", "malipo_owner")
SERVICE = os.environ.get("MALIPO_BENCH_SERVICE_ROLE", "malipo_service")
TENANT, OTHER = "ten_bench_export", "ten_bench_other"
TARGET_S_PER_MILLION = 120.0
TARGET_RSS_MB = 300.0
COLUMNS = (
    "source_system", "source_id", "revision", "tenant_id", "service", "from_number",
    "to_number", "occurred_at", "started_at", "duration_s", "billable_s", "units",
    "disposition", "category", "pricing_type", "delivery_status", "account", "linked_id",
    "status", "received_at", "rated_at", "plan_id", "plan_version", "zone", "unit",
    "billed_units", "currency", "net_minor",
)  # fmt: skip


def url_as(role: str, database: str = DATABASE) -> str:
    return make_url(normalise_database_url(f"{SERVER}/{database}")).set(
        username=role
    ).render_as_string(hide_password=False)  # fmt: skip


def rebuild(revision: str = "head") -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for role in (OWNER, SERVICE):
            connection.execute(text(
                f'DO $$ BEGIN CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS; EXCEPTION'
                " WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))  # fmt: skip
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}" OWNER "{OWNER}"'))
    admin.dispose()
    upgrade(url_as(OWNER), revision)
    grant_service_role(url_as(OWNER), SERVICE)


def rows(count: int, tenant: str, start: datetime):
    for n in range(count):
        at = start + timedelta(seconds=n * 7)
        yield (
            "bench", f"{tenant}.{n}", 0, tenant, "voice", "255754000111",
            f"2557{n % 100_000_000:08d}", at, at, 65, 60, 1, "ANSWERED", "", "regular", "", "",
            "", "accrued", at, at, "TZ-STANDARD", 1, "TZ-MOB-VODACOM", "second", 60, "TZS", 4500,
        )  # fmt: skip


def copy_rows(url: str, count: int, tenant: str) -> float:
    """Binary COPY as the superuser server URL's role (row-level security does not bind it)."""
    started = time.perf_counter()
    names = ", ".join(COLUMNS)
    sql = f"COPY usage_records ({names}) FROM STDIN (FORMAT BINARY)"
    with (
        psycopg.connect(url) as connection,
        connection.cursor() as cursor,
        cursor.copy(sql) as copy,
    ):
        copy.set_types(["text", "text", "int4", "text", "text", "text", "text", "timestamptz",
                            "timestamptz", "int4", "int4", "int4", "text", "text", "text", "text",
                            "text", "text", "text", "timestamptz", "timestamptz", "text", "int4",
                            "text", "text", "int8", "text", "int8"])  # fmt: skip
        for row in rows(count, tenant, datetime(2026, 3, 1, tzinfo=UTC)):
            copy.write_row(row)
    return time.perf_counter() - started


def superuser_url() -> str:
    return normalise_database_url(f"{SERVER}/{DATABASE}").replace("+psycopg", "")


def seed_tenants() -> None:
    with psycopg.connect(superuser_url()) as connection:
        for tenant in (TENANT, OTHER):
            connection.execute(
                "INSERT INTO tenants (id, name, email, msisdn, billing_mode, currency, country,"
                " language, status, created_at) VALUES (%s, 'Bench', 'b@bench.test',"
                " '255754000111', 'postpaid', 'TZS', 'TZ', 'en', 'active', now())",
                (tenant,),
            )


def child_export(export_dir: str) -> None:
    """In the child: request and build the export as the service role, print the time."""
    from billing import create_app
    from billing.core.clock import utcnow
    from billing.core.config import Settings
    from billing.privacy import exports
    from billing.privacy.models import DataExport, ExportStatus
    from billing.runtime import EXTENSION

    settings = Settings(database_url=url_as(SERVICE), export_dir=export_dir, secret_key="b")
    app = create_app(settings)
    runtime = app.extensions[EXTENSION]
    with app.app_context():
        with runtime.unit_of_work() as session:  # the row the API writes (the job is run here)
            export = DataExport(id=f"exp_bench_{os.getpid()}", tenant_id=TENANT,
                                created_at=utcnow(), requested_by="key_bench",
                                status=ExportStatus.QUEUED)  # fmt: skip
            session.add(export)
        started = time.perf_counter()
        with runtime.sessions() as session, session.begin():
            built = exports.build(session, runtime.settings, export.id)
        elapsed = time.perf_counter() - started
    print(f"{elapsed:.3f} {built.size_bytes} {built.counts['usage_records']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--copy-compare", action="store_true")
    parser.add_argument("--child-export")
    args = parser.parse_args()
    if args.child_export:
        child_export(args.child_export)
        return
    print(f"load average: {os.getloadavg()}")
    if args.copy_compare:
        rebuild("0022")
        seed_tenants()
        before = copy_rows(superuser_url(), args.records, TENANT)
        print(f"COPY {args.records:,} usage records, unpartitioned (0022): {before:.1f} s")
    rebuild()
    seed_tenants()
    loaded = copy_rows(superuser_url(), args.records, TENANT)
    copy_rows(superuser_url(), 1_000, OTHER)
    print(f"COPY {args.records:,} usage records, monthly partitions (head): {loaded:.1f} s")
    with tempfile.TemporaryDirectory(prefix="malipo-bench-export-") as folder:
        child = subprocess.run(
            [sys.executable, __file__, "--child-export", folder],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb, cpu_s = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        elapsed, size, exported = child.stdout.split()[-3:]
    per_million = float(elapsed) * 1_000_000 / max(args.records, 1)
    print(f"export of {int(exported):,} usage records (+ profile, ledger, invoices):"
          f" {float(elapsed):.1f} s ({per_million:.1f} s per million; target"
          f" <= {TARGET_S_PER_MILLION:.0f}), archive {int(size) / 1e6:.1f} MB")  # fmt: skip
    print(f"peak RSS of the export process: {peak_mb:.0f} MB (target <= {TARGET_RSS_MB:.0f},"
          f" flat in the number of records); its CPU time {cpu_s:.1f} s"
          " (start-up included)")  # fmt: skip
    if int(exported) != args.records:
        sys.exit(f"exported {exported} usage records, expected {args.records}")


if __name__ == "__main__":
    main()
