"""Settlement reconciliation throughput: .venv/bin/python bench/reconcile.py [--lines N]

Builds (and rebuilds) the database `malipo_bench_reconcile` beside the test database,
with 100 tenants and N credited M-Pesa top-ups of one day (inserted set-based), writes
the M-Pesa organisation statement of that day (N payment lines, one charge row per
hundred payments, a payout; one payment in a thousand short-paid, one unknown, a few
top-ups left off), then imports it the way `billing reconcile --provider mpesa FILE`
does: hash, parse, COPY into staging, match in one INSERT … SELECT, exceptions into
the review queue, fees booked. Prints statement lines matched per second beside the
target (>= 50,000/s for a 1,000,000-line statement), with the shares of the import's
phases (timed within that one import, so they add up to its total).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.schema import upgrade
from billing.settlement import books, exceptions, matching, staging
from billing.settlement.formats.mpesa import HEADER
from billing.settlement.models import StatementLine
from billing.settlement.service import import_statement

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "malipo_bench_reconcile"
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
TARGET = 50_000
DAY = date(2026, 12, 1)
TENANTS = 100


def prepare(lines: int) -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)
    engine = make_engine(URL)
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO tenants (id, name, email, msisdn, billing_mode, currency, country,
                language, status, created_at)
            SELECT 'ten_bench' || lpad(n::text, 5, '0'), 'Bench ' || n, 'b@bench.test',
                '255754000111', 'prepaid', 'TZS', 'TZ', 'en', 'active', now()
            FROM generate_series(0, :tenants - 1) n
        """), {"tenants": TENANTS})  # fmt: skip
        # The statement day's top-ups, credited (status only: the bench times matching).
        connection.execute(text("""
            INSERT INTO topups (id, tenant_id, reference, provider, msisdn, amount_minor,
                currency, status, initiation, provider_txn_id, initiate_attempts, checks,
                created_at, updated_at)
            SELECT 'top_b' || n, 'ten_bench' || lpad((n % :tenants)::text, 5, '0'),
                'B' || lpad(n::text, 9, '0'), 'mpesa', '255754000111', (1000 + n % 500) * 100,
                'TZS', 'succeeded', 'sent', 'R' || lpad(n::text, 9, '0'), 0, 0,
                TIMESTAMPTZ '2026-12-01 06:00:00+00' + (n % 36000) * INTERVAL '1 second',
                now()
            FROM generate_series(1, :lines) n
        """), {"tenants": TENANTS, "lines": lines})  # fmt: skip
        connection.execute(text("ANALYZE topups"))
    engine.dispose()


def write_statement(path: str, lines: int) -> None:
    """Every top-up paid, but: each 1,000th short by 1.00, each 5,000th left off (missing
    at M-Pesa) and replaced by a payment no top-up names; a charge row each 100th."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(f"Organization Name:,MALIPO BENCH\r\nTime Period:,{DAY:%d-%m-%Y}\r\n\r\n")
        out.write(HEADER + "\r\n")
        for n in range(1, lines + 1):
            seconds = n % 36000
            stamp = (
                f"01-12-2026 {9 + seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            )
            amount = (1000 + n % 500) * 100 - (100 if n % 1000 == 0 else 0)
            paid = f"{amount // 100}.{amount % 100:02d}"
            if n % 5000 == 0:
                receipt, reference = f"U{n:09d}", f"NOPE{n}"
            else:
                receipt, reference = f"R{n:09d}", f"B{n:09d}"
            out.write(
                f"{receipt},{stamp},{stamp},Pay Bill Online,Completed,{paid},,0.00,true,"
                f"Pay Bill Online,255754000111 - BENCH PAYER,,{reference}\r\n"
            )
            if n % 100 == 0:
                out.write(
                    f"C{n:09d},{stamp},,Business Pay Bill Charge,Completed,,-10.00,0.00,true,"
                    f"Business Pay Bill Charge,,{receipt},\r\n"
                )
        out.write("P000000001,01-12-2026 23:00:00,,Organization Settle to Bank,Completed,,"
                  "-1.00,0.00,true,Withdraw Funds to Bank,CRDB,,\r\n")  # fmt: skip


class Phases:
    """The import's phases, timed inside the import itself (so they add up to its total):
    each step the import calls through its module is wrapped for the run."""

    STEPS = (
        ("parse + COPY", staging, "stage"),
        ("match", matching, "match"),
        ("missing at provider", matching, "add_missing_at_provider"),
        ("review items", exceptions, "open_review_items"),
        ("fees booked", books, "book_statement"),
    )

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> Phases:
        for name, module, attribute in self.STEPS:
            original = getattr(module, attribute)
            self._saved.append((module, attribute, original))
            setattr(module, attribute, self._timed(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for module, attribute, original in self._saved:
            setattr(module, attribute, original)

    def _timed(self, name: str, step):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        return timed


def backend_cpu(session) -> float | None:
    """CPU seconds of the session's PostgreSQL backend so far (a server on this machine)."""
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"preparing {args.lines:,} credited top-ups in {DATABASE} …", flush=True)
    prepare(args.lines)
    engine = make_engine(URL)
    sessions = make_session_factory(engine)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"mpesa-{DAY}.csv")
        write_statement(path, args.lines)
        size = os.path.getsize(path)
        with sessions() as warm, warm.begin():  # connections and caches, not the data
            warm.execute(text("SELECT count(*) FROM topups"))
        started, cpu = time.perf_counter(), time.process_time()
        with Phases() as phases, open(path, "rb") as source, sessions() as session:
            with session.begin():
                server = backend_cpu(session)
                imported = import_statement(
                    session, fmt="mpesa", source=source, filename=os.path.basename(path),
                    actor="bench",
                )  # fmt: skip
                if server is not None:
                    server = (backend_cpu(session) or 0.0) - server
                committing = time.perf_counter()
            phases.spent["commit"] = time.perf_counter() - committing
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        spent = phases.spent
        spent["other (hash, totals, audit)"] = elapsed - sum(spent.values())
    with sessions() as session:
        matched = session.scalar(
            select(func.count())
            .select_from(StatementLine)
            .where(StatementLine.outcome == "matched")
        )
    engine.dispose()
    statement = imported.statement
    rate = statement.line_count / elapsed
    print(f"statement: {statement.line_count:,} lines ({size / 1e6:.0f} MB), "
          f"{matched:,} matched; outcomes {statement.totals['outcomes']}")  # fmt: skip
    in_server = f", {server:.1f} s in PostgreSQL" if server is not None else ""
    print(f"import + match, end to end: {elapsed:.1f} s wall ({cpu:.1f} s CPU in Python"
          f"{in_server})")  # fmt: skip
    print("phases of that import (their shares of it):")
    for name, seconds in spent.items():
        print(f"  {name:<28} {seconds:6.1f} s  {seconds / elapsed:4.0%}")
    verdict = "meets" if rate >= TARGET else "BELOW"
    print(f"statement lines matched per second: {rate:,.0f}   target >= {TARGET:,}/s  ({verdict})")
    print(
        f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
    )


if __name__ == "__main__":
    main()
