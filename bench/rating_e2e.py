"""End-to-end import: an Asterisk Master.csv into PostgreSQL, rated and debited.

    .venv/bin/python bench/rating_e2e.py [--rows 1000000] [--tenants 20] [--phases] [--serial]
                                         [--storers N]

Writes a synthetic Master.csv (18 columns: loguniqueid and loguserfield on, local time),
then times, on a rebuilt database (`malipo_bench_rating`, or $MALIPO_BENCH_RATING_DB):

* the floor: a bare `COPY` of the same file into a table of 18 text columns;
* the real path: `billing.usage.imports.import_file` (parse, normalise, find duplicates,
  rate with the tenant's tariff, one ledger debit per tenant per chunk with VAT, and
  store each row once, already rated), jobs in-process as without Redis; chunk N+1
  priced while chunk N is stored, or with `--serial` one chunk after another, to
  compare both in one sitting; the chunks stored by `--storers N` processes at once
  (default: the import's, one a core, at most three; 1: this process alone).

* the storage floor: a binary COPY of the rows as stored, already rated, into a copy of
  usage_records (same partitions, indexes and constraints), after the import: what the
  database alone costs, whatever Python does.

The import and the storage floor each start after a CHECKPOINT (each writes more WAL than
max_wal_size, so neither inherits the other's). The target (issue 20): end to end at most
1.5x the storage floor of the same run; the
ratio to the bare COPY is printed too. `--phases` also times reading and parsing the
file alone (Python's floor). Peak memory is the largest importing process's maximum
resident set (it streams; it should stay flat whatever the row count). bench/rating.py
runs this in a child process. With `--workers N`, N `billing worker` processes run
beside the import (on PostgreSQL intake rates the rows itself, so they find little to
do); the clock stops when no record is left pending.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from redis import Redis
from sqlalchemy import func, select, text
from yardstick import checkpoint  # bench/yardstick.py: each timed write starts after one

from billing.app import create_app
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET, Posting, clearing
from billing.ledger.service import post_transaction
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.usage.imports import import_file
from billing.usage.models import UsageRecord
from billing.usage.storers import default_storers

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("MALIPO_BENCH_RATING_DB", "malipo_bench_rating")
URL = f"{SERVER}/{DATABASE}"
REDIS = os.environ.get("MALIPO_BENCH_REDIS", "redis://127.0.0.1:6379/12")
TARGET = 1.5  # end to end at most this many times the storage floor (issue 20)
PREFIXES = ["71", "65", "75", "74", "68", "78", "62", "22", "800"]


def write_master_csv(path: Path, rows: int, tenants: list[str], seed: int = 255) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as out:
        for n in range(rows):
            tenant = tenants[n % len(tenants)]
            dst = "0" + rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}"[: 8 - 1]
            dst = (dst + "0000000000")[:10]
            day = 1 + n % 28
            hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(50)
            start = f"2026-03-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
            billsec = 0 if rng.random() < 0.15 else rng.randint(1, 600)
            answer = (
                f'"2026-03-{day:02d} {hour:02d}:{minute:02d}:{second + 5:02d}"' if billsec else ""
            )
            end = start  # end time is not used by rating
            disposition = "ANSWERED" if billsec else "NO ANSWER"
            out.write(
                f'"{tenant}","255754000111","{dst}","from-internal","""Duka"" <255754000111>",'
                f'"PJSIP/duka-{n:08x}","PJSIP/trunk-{n:08x}","Dial","PJSIP/trunk/{dst},60",'
                f'"{start}",{answer},"{end}",{billsec + 5},{billsec},"{disposition}",'
                f'"DOCUMENTATION","bench.{n}",""\n'
            )


def rebuild_database() -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(normalise_database_url(URL))


def copy_floor(path: Path) -> float:
    columns = ", ".join(f"c{i} text" for i in range(18))
    with psycopg.connect(URL) as connection:
        connection.execute(f"CREATE TABLE copy_floor ({columns})")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY copy_floor FROM STDIN WITH (FORMAT csv)") as copy,
            path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE copy_floor")
        connection.commit()
    return elapsed


def start_worker(redis_url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": URL, "REDIS_URL": redis_url, "SECRET_KEY": "bench"}
    billing = str(Path(sys.executable).parent / "billing")
    return subprocess.Popen(
        [billing, "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until_rated(runtime) -> None:
    while True:
        with runtime.sessions() as session:
            left = session.execute(
                text("SELECT count(*) FROM usage_records WHERE status = 'pending'")
            ).scalar()
        if not left:
            return
        time.sleep(0.2)


def outcome(runtime, tenants: list[str]) -> tuple[dict, int, int]:
    with runtime.sessions() as session:
        by_status = dict(
            session.execute(
                select(UsageRecord.status, func.count()).group_by(UsageRecord.status)
            ).all()
        )
        debits = session.execute(
            text("SELECT count(*) FROM ledger_transactions WHERE kind = 'usage'")
        ).scalar()
        spent = sum(
            10**12 - account_balance(session, t, WALLET, "TZS").balance_minor for t in tenants
        )
    return by_status, debits, spent


SETTLE_S = 1.0  # a backend whose client left is still ending (counted nowhere) a moment


def server_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to the bench
    database, and by every backend that has ended (the postmaster's reaped children):
    the difference of two readings is the server's CPU between them, whatever
    connections opened and closed meanwhile (the storers' close with them).

    Read from /proc (the server runs on this machine): on a machine others are loading,
    the server's CPU is a steadier measure of its share than the wall clock.
    """
    with psycopg.connect(URL, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
        mine = connection.info.backend_pid
        postmaster = int(_stat(mine)[1])
    used = sum(_pid_cpu(pid) for (pid,) in pids if Path(f"/proc/{pid}").exists())
    fields = _stat(postmaster)
    return used + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command: state, ppid, … utime at 11, cutime at 13."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


# This process, and its ended children: the parser, and the storers if several.
_IMPORTERS = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)


def child_cpu() -> float:
    """CPU seconds of this process's ended children (the parser and storers, once joined)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _pid_cpu(pid: int) -> float:
    try:
        fields = _stat(pid)
    except OSError:  # ended meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_rows_floor() -> tuple[float, float]:
    """PostgreSQL's part alone (the storage floor): the imported rows, already rated,
    COPYed (binary) into a copy of usage_records partitioned the same way, with the same
    partitions, indexes and constraints. What no Python can save.

    usage_records is partitioned (migration 0028), so its rows are read with
    `COPY (SELECT …) TO` and the copy is built from the catalogue: its partitions' bounds
    and its indexes' definitions, so the floor follows whatever the schema holds.
    """
    with psycopg.connect(URL) as connection:
        with connection.cursor() as cursor:
            data = bytearray()
            rows_out = "COPY (SELECT * FROM usage_records) TO STDOUT (FORMAT BINARY)"
            with cursor.copy(rows_out) as copy:
                for block in copy:
                    data += block
            for statement in _floor_table_sql(cursor):
                cursor.execute(statement)
            connection.commit()
            checkpoint()
            pid = connection.info.backend_pid
            started, server = time.perf_counter(), _pid_cpu(pid)
            with cursor.copy("COPY stored_floor FROM STDIN (FORMAT BINARY)") as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start : start + (1 << 20)])
            connection.commit()
            elapsed, server = time.perf_counter() - started, _pid_cpu(pid) - server
            cursor.execute("DROP TABLE stored_floor")
        connection.commit()
    return elapsed, server


_FLOOR_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (ONLY )?\S+")


def _floor_table_sql(cursor) -> list[str]:
    """CREATE statements for `stored_floor`: usage_records' columns, partitions and indexes."""
    cursor.execute(
        "SELECT pg_get_partkeydef('usage_records'::regclass),"
        " (SELECT reloptions FROM pg_class WHERE oid = 'usage_records'::regclass)"
    )
    partition_key, options = cursor.fetchone()
    with_options = f" WITH ({', '.join(options)})" if options else ""
    statements = [
        "CREATE TABLE stored_floor (LIKE usage_records INCLUDING DEFAULTS INCLUDING"
        f" CONSTRAINTS) PARTITION BY {partition_key}"
    ]
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reloptions FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_records'::regclass"
    )
    for name, bound, part_options in cursor.fetchall():
        opts = f" WITH ({', '.join(part_options)})" if part_options else with_options
        statements.append(f"CREATE TABLE floor_{name} PARTITION OF stored_floor {bound}{opts}")
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'usage_records'::regclass AND contype IN ('p', 'u')"
    )
    statements += [f"ALTER TABLE stored_floor ADD {d}" for (d,) in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = 'usage_records'::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    )
    for (definition,) in cursor.fetchall():
        statements.append(_FLOOR_INDEX.sub(r"CREATE \1INDEX floor_\2 ON stored_floor", definition))
    return statements


def usage_writes() -> tuple[int, int]:
    """Rows inserted into and updated in usage_records (all partitions) since the rebuild:
    a row written once is one insert and no update (the counters lag a commit by up to
    a second; they are read after the storage floor)."""
    with psycopg.connect(URL) as connection:
        inserted, updated = connection.execute(
            "SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0)"
            " FROM pg_stat_user_tables WHERE relid IN (SELECT inhrelid FROM pg_inherits"
            " WHERE inhparent = 'usage_records'::regclass)"
        ).fetchone()
    return int(inserted), int(updated)


def index_count() -> int:
    with psycopg.connect(URL) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'usage_records'::regclass"
        ).fetchone()[0]


def parse_only(path: Path) -> float:
    """Reading and parsing the file into rows, nothing stored: the Python floor."""
    from billing.usage.imports import _row, parse

    started = time.perf_counter()
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for item in parse("asterisk", handle):
            _row(item, None)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--phases", action="store_true", help="also time reading and parsing alone")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="rate in N `billing worker` processes (RQ, Redis) while the file is read;"
        " 0: jobs run in-process after each chunk commits, as without Redis",
    )
    parser.add_argument(
        "--serial", action="store_true", help="store chunk after chunk, none priced ahead"
    )
    parser.add_argument(
        "--storers",
        type=int,
        default=None,
        help="processes storing the file's chunks at once (default: the import's, one a"
        " core, at most three; 1: this process alone)",
    )
    args = parser.parse_args()

    rebuild_database()
    redis_url = REDIS if args.workers else None
    if redis_url:
        Redis.from_url(redis_url).flushdb()
    app = create_app(
        Settings(database_url=normalise_database_url(URL), redis_url=redis_url, secret_key="bench")
    )
    runtime = app.extensions[EXTENSION]
    logging.getLogger().setLevel(logging.WARNING)  # the app logs each relayed job at INFO
    tenants = []
    with runtime.unit_of_work() as session:
        for n in range(args.tenants):
            mode = BillingMode.POSTPAID if n % 4 == 3 else BillingMode.PREPAID
            created = create_tenant(
                session,
                NewTenant(f"Bench {n}", "b@b.tz", "255712345678", mode, Currency.TZS),
            )
            put_on_default_plan(session, created.id)
            post_transaction(
                session,
                tenant_id=created.id,
                idempotency_key="bench:funding",
                kind="topup",
                postings=[
                    Posting(WALLET, Currency.TZS, 10**12),
                    Posting(clearing("mpesa"), Currency.TZS, -(10**12)),
                ],
            )
            tenants.append(created.id)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Master.csv"
        write_master_csv(path, args.rows, tenants)
        size_mb = path.stat().st_size / 1e6
        floor = copy_floor(path)
        workers = [start_worker(redis_url) for _ in range(args.workers)]
        try:
            with app.app_context():
                checkpoint()
                server, children = server_cpu(), child_cpu()
                started, cpu = time.perf_counter(), time.process_time()
                overlap = False if args.serial else None
                summary = import_file(
                    runtime, str(path), "asterisk", overlap=overlap, storers=args.storers
                )
                if workers:
                    wait_until_rated(runtime)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                parser_cpu = child_cpu() - children
                time.sleep(SETTLE_S)  # the storers' backends, ending, reaped (clock stopped)
                server = server_cpu() - server
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
        peak_mb = max(resource.getrusage(who).ru_maxrss for who in _IMPORTERS) / 1024
        by_status, debits, spent = outcome(runtime, tenants)
        parsing = parse_only(path) if args.phases else None
        stored, stored_cpu = stored_rows_floor()
        indexes = index_count()
        inserted, updated = usage_writes()
    rows = args.rows
    print(
        f"file: {rows:,} Asterisk rows, {size_mb:,.0f} MB; {args.tenants} tenants (1 in 4 postpaid)"
    )
    print(f"machine load average: {os.getloadavg()[0]:.2f}")
    print(f"COPY floor (18 text columns): {floor:.2f} s = {rows / floor:,.0f} rows/s")
    how = f"{args.workers} RQ worker(s) rating meanwhile" if args.workers else "jobs in-process"
    storing = "one after another" if args.serial else "overlapped"
    storers = args.storers or (1 if args.serial else default_storers())
    print(f"rating: {how}; chunks {storing}, stored by {storers} process(es)")
    print(
        f"end to end (parse, store once, rate, debit): {elapsed:.2f} s = {rows / elapsed:,.0f}"
        f" records/s; {elapsed / floor:.1f}x the COPY floor"
    )
    print(f"  of which this process's CPU: {cpu:.2f} s (the rest: PostgreSQL, and waiting)")
    print(f"  the child processes' CPU (the parser; the storers, if several): {parser_cpu:.2f} s")
    print(f"  PostgreSQL backends' CPU meanwhile: {server:.2f} s")
    if parsing is not None:
        print(
            f"  reading and parsing the file alone: {parsing:.2f} s"
            f" = {parsing / floor:.1f}x the floor"
        )
    print(
        f"  accepted {summary.accepted:,}, rejected {summary.rejected:,}; statuses "
        + ", ".join(f"{status} {count:,}" for status, count in sorted(by_status.items()))
    )
    print(f"  {debits:,} ledger debit transactions; prepaid wallets debited TZS {spent / 100:,.2f}")
    ratio = elapsed / stored
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(
        f"storage floor (binary COPY of the rated rows into a copy of usage_records, its"
        f" {indexes} indexes): {stored:.2f} s = {stored / floor:.1f}x the COPY floor;"
        f" its backend's CPU {stored_cpu:.2f} s"
    )
    print(
        f"END TO END / STORAGE FLOOR: {ratio:.2f}x  (target: at most {TARGET}x, same run:"
        f" {verdict})"
    )
    # The floor is one backend on one core; the import spreads over the cores at best, so
    # end to end / floor cannot fall below this whatever the overlap: only less CPU helps.
    # In CPU seconds on both sides, it holds under load too.
    cores = os.cpu_count() or 1
    bound = (cpu + parser_cpu + server) / cores / stored_cpu
    print(
        f"  CPU bound: the import's CPU (all processes) / {cores} cores / the floor backend's"
        f" CPU = {bound:.2f}x: the least the ratio can be on this machine"
    )
    print(f"usage rows inserted {inserted:,}, updated after insert {updated:,} (target: 0)")
    print(f"peak memory (max RSS of the largest importing process): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
