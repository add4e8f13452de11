"""Settlement reconciliation throughput: .venv/bin/python bench/reconcile.py [--lines N]

Builds (and rebuilds) the database `malipo_bench_reconcile` beside the test database,
with 100 tenants and N credited M-Pesa top-ups of one day (inserted set-based), writes
the M-Pesa organisation statement of that day (N payment lines, one charge row per
hundred payments, a payout; one payment in a thousand short-paid, one unknown, a few
top-ups left off), then imports it the way `billing reconcile --provider mpesa FILE`
does: hash, parse, COPY into staging, match in one INSERT … SELECT, exceptions into
the review queue, fees booked. Prints statement lines matched per second beside the
target (>= 50,000/s for a 1,000,000-line statement), with the phases' shares.
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
from billing.settlement.formats import parse
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


def phases(sessions, path: str) -> dict[str, float]:
    """The import's phases, timed one by one in a transaction that is rolled back."""
    spent: dict[str, float] = {}
    with sessions() as session, session.begin():
        started = time.perf_counter()
        with open(path, encoding="utf-8", newline="") as handle:
            staged = staging.stage(session, parse("mpesa", handle))
        spent["parse + COPY"] = time.perf_counter() - started
        session.execute(text("INSERT INTO settlement_statements (id, provider, filename, sha256,"
                             " line_count, totals, imported_by, created_at) VALUES ('stm_phase',"
                             " 'mpesa', 'x', 'x', 0, '{}', 'bench', now())"))  # fmt: skip
        for name, step in (
            ("match", lambda: matching.match(session, "stm_phase")),
            ("missing at provider", lambda: matching.add_missing_at_provider(
                session, "stm_phase", ("mpesa",), staged.period())),
            ("review items", lambda: exceptions.open_review_items(session, "stm_phase")),
            ("fees booked", lambda: books.book_statement(session, "stm_phase")),
        ):  # fmt: skip
            started = time.perf_counter()
            step()
            spent[name] = time.perf_counter() - started
        session.rollback()
    return spent


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
        spent = phases(sessions, path)
        started, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as source, sessions() as session, session.begin():
            imported = import_statement(
                session, fmt="mpesa", source=source, filename=os.path.basename(path), actor="bench"
            )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
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
    print(f"import + match, end to end: {elapsed:.1f} s wall ({cpu:.1f} s CPU in Python)")
    print("phases (a separate rolled-back run): "
          + ", ".join(f"{name} {s:.1f} s" for name, s in spent.items()))  # fmt: skip
    verdict = "meets" if rate >= TARGET else "BELOW"
    print(f"statement lines matched per second: {rate:,.0f}   target >= {TARGET:,}/s  ({verdict})")
    print(
        f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
    )


if __name__ == "__main__":
    main()
