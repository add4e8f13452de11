"""Audit chain benchmark: what hash-chaining costs a staff action, and how fast
`billing audit verify` walks the trail.

Prints audited transactions per second (one audit event each, linked at commit under the
chain head's row lock) from 8 threads writing to one chain (every writer queues on the
same head: the worst case, a single tenant's busy admin team) and to 8 chains (one per
tenant: the usual case), beside the same transactions with the event not chained (a
plain insert, as before migration 0020); then the events per second verify checks.
Targets: on 8 chains, chaining adds under 2 ms a transaction; on one chain, throughput is
bound by commit latency (the head is held to COMMIT, which orders the chain); verify,
warm, ≥ 20,000 events/s.
The figures move with the machine's load: the load average is printed.

    .venv/bin/python bench/audit_chain.py [--transactions 2000]

Uses (and rebuilds) the database `malipo_bench_audit`, or $MALIPO_BENCH_AUDIT_DB.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from billing.audit.models import AuditEvent
from billing.audit.service import record
from billing.audit.verify import verify
from billing.core.clock import utcnow
from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.schema import upgrade

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
NAME = os.environ.get("MALIPO_BENCH_AUDIT_DB", "malipo_bench_audit")
URL = normalise_database_url(f"{SERVER}/{NAME}")
THREADS = 8


def prepare() -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {NAME}"))
    admin.dispose()
    upgrade(URL)


def _event(tenant_id: str, n: int) -> dict:
    return {"actor": "stf_bench", "action": "bench.step", "subject_type": "tenant",
            "subject_id": tenant_id, "tenant_id": tenant_id,
            "detail": {"n": n, "amount_minor": 1_000_00}}  # fmt: skip


def run(sessions, transactions: int, chains: int, chained: bool) -> float:
    tenants = [f"ten_{uuid.uuid4().hex[:12]}" for _ in range(chains)]
    per_thread = transactions // THREADS

    def work(k: int) -> None:
        tenant_id = tenants[k % chains]
        for n in range(per_thread):
            with sessions.begin() as session:
                if chained:
                    record(session, **_event(tenant_id, n))
                else:
                    session.execute(insert(AuditEvent.__table__).values(at=utcnow(),
                                    **_event(tenant_id, n)))  # fmt: skip

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * THREADS / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=2000)
    args = parser.parse_args()
    prepare()
    engine = make_engine(URL, pool_size=THREADS + 2)
    sessions = make_session_factory(engine)
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)")
    plain = run(sessions, args.transactions, THREADS, chained=False)
    one = run(sessions, args.transactions, 1, chained=True)
    many = run(sessions, args.transactions, THREADS, chained=True)
    print(f"unchained insert, {THREADS} threads:      {plain:8,.0f} transactions/s")
    print(f"chained, {THREADS} threads on 1 chain:     {one:8,.0f} transactions/s"
          f"  (+{(1 / one - 1 / plain) * 1000:.2f} ms each)")  # fmt: skip
    print(f"chained, {THREADS} threads on {THREADS} chains:    {many:8,.0f} transactions/s"
          f"  (+{(1 / many - 1 / plain) * 1000:.2f} ms each; target < 2 ms)")  # fmt: skip
    with sessions() as session:
        verify(session)  # cold: compiles the statements
        started = time.perf_counter()
        report = verify(session)
        elapsed = time.perf_counter() - started
    print(f"verify: {report.events:,} events on {report.chains} chains in {elapsed:.2f} s ="
          f" {report.events / elapsed:,.0f} events/s (target ≥ 20,000); "
          f"intact={report.intact}, unchained={report.unchained:,}")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
