"""Ledger posting throughput on PostgreSQL: transactions/s with 1 and 8 writers.

Each transaction is what a credited top-up or a usage debit costs in production:
the idempotent transaction row, two account rows updated under row locks in the
fixed order, two entries, and the deferred balance check at COMMIT. Writers are
processes (not threads), each with its own connection, over 100 tenants.

    .venv/bin/python bench/ledger.py [--seconds 10] [--tenants 100]

Each writer count runs twice: as the services post (BEGIN, `ledger_post()`, COMMIT:
three round trips, the deferred balance check at COMMIT), and with the lever "one
round trip" (the same call in autocommit: PostgreSQL wraps the one statement in its own
transaction and runs the deferred check at its end), for a poster that has nothing
else to write in the transaction.

Uses (and rebuilds) the database `malipo_bench` next to the test database.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.money import Currency
from billing.ledger.postings import USAGE_REVENUE, WALLET, Posting, clearing
from billing.ledger.service import post_transaction
from billing.schema import upgrade

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
URL = normalise_database_url(f"{SERVER}/malipo_bench")


def prepare(tenants: int) -> list[str]:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS malipo_bench WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE malipo_bench"))
    admin.dispose()
    upgrade(URL)
    engine = make_engine(URL)
    ids = [f"ten_bench{n:05d}" for n in range(tenants)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tenants (id, name, email, msisdn, billing_mode, currency, status,"
                " created_at) VALUES (:id, 'bench', 'b@b.tz', '255712345678', 'prepaid', 'TZS',"
                " 'active', now())"
            ),
            [{"id": tenant_id} for tenant_id in ids],
        )
    sessions = make_session_factory(engine)
    with sessions.begin() as session:  # every wallet starts funded, so debits rarely fail
        for tenant_id in ids:
            _post(session, tenant_id, 10**12)
    engine.dispose()
    return ids


def _post(session, tenant_id: str, amount: int) -> None:
    other = clearing("mpesa") if amount > 0 else USAGE_REVENUE
    post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=uuid.uuid4().hex,
        kind="topup" if amount > 0 else "usage",
        postings=[Posting(WALLET, Currency.TZS, amount), Posting(other, Currency.TZS, -amount)],
    )


def writer(
    tenants: list[str], seconds: float, start: float, results: mp.Queue, one_trip: bool
) -> None:
    extra = {"isolation_level": "AUTOCOMMIT"} if one_trip else {}
    engine = make_engine(URL, pool_size=1, max_overflow=0, **extra)
    sessions = make_session_factory(engine)
    rng = random.Random(os.getpid())
    latencies: list[float] = []
    while time.time() < start:
        time.sleep(0.001)
    deadline = start + seconds
    while (began := time.perf_counter()) and time.time() < deadline:
        amount = rng.choice((5_000_00, -1_180_00, -59_00, 2_000_00))
        with sessions.begin() as session:
            _post(session, rng.choice(tenants), amount)
        latencies.append(time.perf_counter() - began)
    engine.dispose()
    results.put(latencies)


def run(
    writers: int, tenants: list[str], seconds: float, one_trip: bool = False
) -> tuple[float, float, float]:
    results: mp.Queue = mp.Queue()
    start = time.time() + 1.0
    processes = [
        mp.Process(target=writer, args=(tenants, seconds, start, results, one_trip))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    latencies = [lat for _ in processes for lat in results.get()]
    for process in processes:
        process.join()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    return len(latencies) / seconds, statistics.median(latencies) * 1e3, p99 * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tenants", type=int, default=100)
    args = parser.parse_args()
    tenants = prepare(args.tenants)
    print(
        f"ledger posting: {args.tenants} tenants, {args.seconds:.0f} s a run, {os.cpu_count()} CPUs"
    )
    print(f"load average {os.getloadavg()[0]:.2f}; target with 8 writers: 1,500 txn/s")
    print(f"{'writers':>8} {'how':>16} {'txn/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for writers in (1, 8):
        for one_trip in (False, True):
            rate, p50, p99 = run(writers, tenants, args.seconds, one_trip)
            how = "one round trip" if one_trip else "BEGIN/call/COMMIT"
            print(f"{writers:>8} {how:>16} {rate:>10,.0f} {p50:>8.2f} {p99:>8.2f}")
    engine = make_engine(URL)
    with engine.connect() as connection:
        bad = connection.execute(
            text(
                "SELECT count(*) FROM ledger_accounts a WHERE balance_minor <>"
                " (SELECT coalesce(sum(amount_minor), 0) FROM ledger_entries e"
                " WHERE e.account_id = a.id)"
            )
        ).scalar_one()
    print(f"accounts whose balance differs from their entries afterwards: {bad}")


if __name__ == "__main__":
    main()
