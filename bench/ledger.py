"""Ledger posting throughput on PostgreSQL: transactions/s with 1 and 8 writers, and levers.

Each transaction is what a credited top-up or a usage debit costs in production:
the idempotent transaction row, two account rows updated under row locks in the
fixed order, two entries, and the deferred balance check at COMMIT. Writers are
processes (not threads), each with its own connection, over 100 tenants.

    .venv/bin/python bench/ledger.py [--seconds 6] [--tenants 100] [--only ROW ...]

"as the services post" is the product's path: a session of the runtime's kind (its
engine: a ping only for a connection idle 2 s, no `pool_pre_ping`; each transaction says
its row-level-security scope: BEGIN and the scope's set_config in one simple query),
BEGIN and the scope, `ledger_post()` (its arrays sent as array literals), COMMIT: three
waits on the server. The balance check runs once per transaction at COMMIT, one query
(migration 0033: the entries `ledger_post()` inserts queue no check of their own; their
transaction's covers them). Each other row changes one lever, back to back with the same
load: "checked per row (before 0033)" (the earlier check, put back for the run: a trigger
per transaction row and per entry row, each two nested queries), "as the service's role"
(the bench connects as the database's superuser, whom row-level security does not bind;
a deployment's service role is bound, so its policies run in every statement and in the
check) and the two together, `pool_pre_ping` (SQLAlchemy's ping on every check-out), no
RLS scope (the same three waits: psycopg's own BEGIN instead of the one with the scope),
`synchronous_commit=off` (not for money: a crash may lose a credit the provider was told
was taken), the deferred balance check dropped (its two constraint triggers disabled on
the bench database for the run: not a product option), `plan_cache_mode` forced generic
or custom for the function's statements, the call not prepared (psycopg prepares a
statement from its 5th run), and "one round trip" (the call in autocommit: PostgreSQL
wraps the one statement in its own transaction and runs the deferred check at its end;
no scope can be said, so the bench's superuser, whom row-level security does not bind,
stands in for a role it would bind).

Uses (and rebuilds) the database `malipo_bench` next to the test database.
"""

from __future__ import annotations

import argparse
import importlib.util
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
from sqlalchemy.engine import make_url

from billing.core import scoping
from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.money import Currency
from billing.ledger.postings import USAGE_REVENUE, WALLET, Posting, clearing
from billing.ledger.service import post_transaction
from billing.schema import MIGRATIONS, grant_service_role, upgrade

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
URL = normalise_database_url(f"{SERVER}/malipo_bench")
SERVICES = "as the services post"
PER_ROW = "checked per row (before 0033)"
SERVICE_ROLE = "as the service's role"
SERVICE_PER_ROW = "service's role, per row"
ROLE = os.environ.get("MALIPO_BENCH_SERVICE_ROLE", "malipo_service")
TARGET = 1_500


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


def _service_role_ready() -> bool:
    """The service's role, granted what it needs on the bench database (if the server has it)."""
    engine = make_engine(URL)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE})
        exists = found.first() is not None
    engine.dispose()
    if exists:
        grant_service_role(URL, ROLE)
    return exists


def _post(session, tenant_id: str, amount: int) -> None:
    other = clearing("mpesa") if amount > 0 else USAGE_REVENUE
    post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=uuid.uuid4().hex,
        kind="topup" if amount > 0 else "usage",
        postings=[Posting(WALLET, Currency.TZS, amount), Posting(other, Currency.TZS, -amount)],
    )


# Lever -> (engine keyword arguments, connection options, scoped sessions).
LEVERS: dict[str, tuple[dict, str, bool]] = {
    "as the services post": ({}, "", True),
    PER_ROW: ({}, "", True),  # 0033's check swapped for the per-row one around the run
    SERVICE_ROLE: ({}, "", True),  # connects as the service's role: row-level security binds
    SERVICE_PER_ROW: ({}, "", True),  # both
    "pool_pre_ping": ({"pool_pre_ping": True}, "", True),
    "no RLS scope": ({}, "", False),
    "synchronous_commit=off": ({}, "-c synchronous_commit=off", True),
    "no deferred check": ({}, "", True),  # the triggers are disabled around the run
    "generic plan": ({}, "-c plan_cache_mode=force_generic_plan", True),
    "custom plan": ({}, "-c plan_cache_mode=force_custom_plan", True),
    "call not prepared": ({"connect_args": {"prepare_threshold": None}}, "", True),
    "one round trip": ({"isolation_level": "AUTOCOMMIT"}, "", False),
}
_TRIGGERS = ("ledger_entries_balanced", "ledger_transactions_balanced")


_AS_SERVICE = (SERVICE_ROLE, SERVICE_PER_ROW)
_PER_ROW = (PER_ROW, SERVICE_PER_ROW)


def writer(tenants: list[str], seconds: float, start: float, results: mp.Queue, lever: str) -> None:
    extra, options, scoped = LEVERS[lever]
    extra = {key: dict(value) if isinstance(value, dict) else value for key, value in extra.items()}
    if options:
        extra.setdefault("connect_args", {})["options"] = options
    url = make_url(URL).set(username=ROLE).render_as_string(False) if lever in _AS_SERVICE else URL
    engine = make_engine(url, pool_size=1, max_overflow=0, **extra)
    sessions = make_session_factory(engine)
    if scoped:
        scoping.install(sessions)  # as billing.runtime does: the system scope
    rng = random.Random(os.getpid())
    latencies: list[float] = []
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    while time.time() < start:
        time.sleep(0.001)
    cpu = time.process_time() + _cpu_s(backend)
    deadline = start + seconds
    while (began := time.perf_counter()) and time.time() < deadline:
        amount = rng.choice((5_000_00, -1_180_00, -59_00, 2_000_00))
        with sessions.begin() as session:
            _post(session, rng.choice(tenants), amount)
        latencies.append(time.perf_counter() - began)
    cpu = time.process_time() + _cpu_s(backend) - cpu
    engine.dispose()
    results.put((latencies, cpu))


def _cpu_s(pid: int) -> float:
    """User + system CPU of a local process (the writer's PostgreSQL backend)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another host: its CPU is not counted
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _triggers(enabled: bool) -> None:
    engine = make_engine(URL)
    with engine.begin() as connection:
        for name in _TRIGGERS:
            table = name.removesuffix("_balanced")
            verb = "ENABLE" if enabled else "DISABLE"
            connection.execute(text(f"ALTER TABLE {table} {verb} TRIGGER {name}"))
    engine.dispose()


def _check(per_row: bool) -> None:
    """Migration 0033's balance check, or the earlier one (every row checked) in its place."""
    path = MIGRATIONS / "versions" / "0033_ledger_check_once.py"
    spec = importlib.util.spec_from_file_location("ledger_check_once", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine = make_engine(URL)
    with engine.begin() as connection:
        connection.execute(text(module.PER_ROW if per_row else module.ONCE))
    engine.dispose()


def run(
    writers: int, tenants: list[str], seconds: float, lever: str
) -> tuple[float, float, float, float]:
    results: mp.Queue = mp.Queue()
    start = time.time() + 1.0
    processes = [
        mp.Process(target=writer, args=(tenants, seconds, start, results, lever))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    answers = [results.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(lat for found, _cpu in answers for lat in found)
    cpu_ms = sum(cpu for _found, cpu in answers) / len(latencies) * 1e3
    p99 = latencies[int(len(latencies) * 0.99)]
    return len(latencies) / seconds, statistics.median(latencies) * 1e3, p99 * 1e3, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--only", nargs="*", choices=list(LEVERS), help="these levers alone")
    args = parser.parse_args()
    tenants = prepare(args.tenants)
    print(
        f"ledger posting: {args.tenants} tenants, {args.seconds:.0f} s a run, {os.cpu_count()} CPUs"
    )
    print(
        f"load average {os.getloadavg()[0]:.2f};"
        f" target: {TARGET:,} txn/s with 8 writers, as the services post"
    )
    print(
        "CPU/txn: the writer's and its PostgreSQL backend's, a transaction (moves less with load)"
    )
    print(f"{'writers':>8} {'how':>24} {'txn/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU/txn':>8}")
    rows = [(1, SERVICES)] + [(8, lever) for lever in (args.only or LEVERS)]
    if not _service_role_ready():
        print(f"no role {ROLE} on this server: the row {SERVICE_ROLE!r} is skipped")
        rows = [row for row in rows if row[1] not in _AS_SERVICE]
    for writers, lever in rows:
        if lever == "no deferred check":
            _triggers(enabled=False)
        if lever in _PER_ROW:
            _check(per_row=True)
        try:
            rate, p50, p99, cpu_ms = run(writers, tenants, args.seconds, lever)
        finally:
            if lever == "no deferred check":
                _triggers(enabled=True)
            if lever in _PER_ROW:
                _check(per_row=False)
        mark = f"   target {TARGET:,}" if writers == 8 and lever == SERVICES else ""
        print(
            f"{writers:>8} {lever:>24} {rate:>8,.0f} {p50:>7.2f} {p99:>7.2f}"
            f" {cpu_ms:>5.2f} ms{mark}"
        )
    print(f"load average afterwards {os.getloadavg()[0]:.2f}")
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
