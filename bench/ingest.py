"""API ingestion: CDR and message batches posted to `billing serve`, rated and debited.

    .venv/bin/python bench/ingest.py [--clients 4] [--batches 10] [--size 1000]

Starts, on a rebuilt database (`malipo_bench_ingest`, or $MALIPO_BENCH_INGEST_DB),
`billing serve` (Granian, 2 processes) and one `billing worker`; then `--clients`
client processes each post `--batches` batches of `--size` records over keep-alive
HTTP, CDRs and SMS records alternately, to 20 tenants (1 in 4 postpaid: rated and
accrued, no debit). The bodies are serialised before the clock starts, so a client
costs the service as little CPU as Python can.

Prints, beside the issue's targets (each "target …: met" or "NOT met"), after a CHECKPOINT
(the preparation's WAL is not the timed run's to write out):
* records rated and debited per second: records that reached a rated state (billed,
  accrued), over the time from the first POST to the last record rated;
* batch latency p50 and p99 (POST sent to answer read);
* POST to debited p99, per record: from its batch's POST to the commit time of its
  ledger debit (its transaction's timestamp), or for postpaid to its rating time;
* CPU per record (less moved by other load than the rates): the service's processes
  (Granian, the worker) and the database's backends, from /proc, over the timed run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis
from sqlalchemy import text
from yardstick import checkpoint  # bench/yardstick.py

from billing.app import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.ledger.postings import WALLET, Posting, clearing
from billing.ledger.service import post_transaction
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("MALIPO_BENCH_INGEST_DB", "malipo_bench_ingest")
URL = f"{SERVER}/{DATABASE}"
REDIS = os.environ.get("MALIPO_BENCH_REDIS", "redis://127.0.0.1:6379/13")
TARGET_RATE, TARGET_BATCH_P99_MS, TARGET_DEBITED_P99_MS = 20_000, 500, 1_000
PREFIXES = ["71", "65", "75", "74", "68", "78", "62"]


def prepare(tenants: int) -> tuple[list[str], str]:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(normalise_database_url(URL))
    app = create_app(Settings(database_url=normalise_database_url(URL), secret_key="bench"))
    runtime = app.extensions[EXTENSION]
    ids = []
    with runtime.unit_of_work() as session:
        _user, key = create_staff(session, email="platform@bench.tz", role=Role.ADMIN)
        for n in range(tenants):
            mode = BillingMode.POSTPAID if n % 4 == 3 else BillingMode.PREPAID
            created = create_tenant(
                session, NewTenant(f"Bench {n}", "b@b.tz", "255712345678", mode, Currency.TZS)
            )
            put_on_default_plan(session, created.id)
            post_transaction(
                session, tenant_id=created.id, idempotency_key="bench:funding", kind="topup",
                postings=[Posting(WALLET, Currency.TZS, 10**12),
                          Posting(clearing("mpesa"), Currency.TZS, -(10**12))],
            )  # fmt: skip
            ids.append(created.id)
    runtime.engine.dispose()
    return ids, key


def batch(kind: str, tenants: list[str], size: int, seed: int) -> bytes:
    start = datetime(2026, 3, 2, 6, tzinfo=UTC) + timedelta(seconds=seed)
    records = []
    for n in range(size):
        tenant = tenants[(seed + n) % len(tenants)]
        number = f"0{PREFIXES[n % len(PREFIXES)]}{(seed * 7919 + n) % 10**7:07d}"
        at = (start + timedelta(seconds=n)).isoformat()
        if kind == "cdrs":
            billsec = 0 if n % 7 == 0 else 5 + (n * 37) % 600
            records.append({
                "source_id": uuid.uuid4().hex, "tenant_id": tenant, "caller": "255754000111",
                "callee": number, "started_at": at, "answered_at": at if billsec else None,
                "duration_s": billsec + 5, "billsec_s": billsec,
                "disposition": "ANSWERED" if billsec else "NO ANSWER",
            })  # fmt: skip
        else:
            records.append({
                "source_id": uuid.uuid4().hex, "tenant_id": tenant, "channel": "sms",
                "recipient": number, "body": "Nambari yako ya uthibitisho ni 4821",
                "sent_at": at, "status": "delivered",
            })  # fmt: skip
    return json.dumps({"records": records}).encode()


def client(port: int, key: str, bodies: list[tuple[str, bytes]], start: float, out: mp.Queue):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timings = []
    while time.time() < start:
        time.sleep(0.001)
    for kind, body in bodies:
        sent_at, began = time.time(), time.perf_counter()
        connection.request("POST", f"/v1/usage/{kind}", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        took = time.perf_counter() - began
        if response.status != 200:
            raise SystemExit(f"{response.status}: {answer[:500]!r}")
        summary = json.loads(answer)
        ids = [int(r["usage_id"]) for r in summary["results"] if r.get("usage_id")]
        timings.append((sent_at, took, summary["accepted"], ids))
    out.put(timings)


WARM_CONNECTIONS = 8  # 2 server processes x 4 threads (billing.processes.serve.THREADS)


def warm_up(port: int, key: str, tenants: list[str]) -> None:
    """Small batches from as many connections at once as the service has threads, so
    every process and thread has its database connection, statements and caches before
    the timed run: one connection warmed one process only, and the other's first
    batches (a new connection each, temporary tables made) were the run's slowest."""
    out: mp.Queue = mp.Queue()
    start = time.time() + 0.5
    clients = [
        mp.Process(target=client, args=(port, key, [
            ("cdrs", batch("cdrs", tenants, 50, (10 + n) * 10**7)),
            ("messages", batch("messages", tenants, 50, (30 + n) * 10**7)),
        ] * 2, start, out))
        for n in range(WARM_CONNECTIONS)
    ]  # fmt: skip
    for process in clients:
        process.start()
    for _ in clients:
        out.get()
    for process in clients:
        process.join()


def start_service(port: int) -> list[subprocess.Popen]:
    billing = str(Path(sys.executable).parent / "billing")
    env = {**os.environ, "DATABASE_URL": URL, "REDIS_URL": REDIS, "SECRET_KEY": "bench",
           "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}"}  # fmt: skip
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    serve = subprocess.Popen([billing, "serve", "--port", str(port), "--workers", "2"], env=env,
                             **quiet)  # fmt: skip
    worker = subprocess.Popen([billing, "worker"], env=env, **quiet)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return [serve, worker]
        except OSError:
            time.sleep(0.2)
    raise SystemExit("billing serve did not start")


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process, in seconds (from /proc/<pid>/stat)."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def _descendants(roots: list[int]) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                continue
    found, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return sorted(found)


def cpu_sample(engine, processes: list[subprocess.Popen]) -> tuple[dict, dict, dict]:
    """CPU seconds so far of `billing serve`'s processes, of the worker's, and of the
    database's backends."""
    with engine.connect() as connection:
        backends = (
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": DATABASE},
            )
            .scalars()
            .all()
        )
    serve, worker = processes
    return (
        _cpu_seconds(_descendants([serve.pid])),
        _cpu_seconds(_descendants([worker.pid])),
        _cpu_seconds(list(backends)),
    )


def settle_down(process: subprocess.Popen, quiet: float = 0.05, longest: float = 30) -> None:
    """Wait (at most `longest` s) until the process and its children use under `quiet`
    s of CPU in half a second: started, idle, polling."""
    deadline = time.monotonic() + longest
    before = sum(_cpu_seconds(_descendants([process.pid])).values())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(_cpu_seconds(_descendants([process.pid])).values())
        if now - before < quiet:
            return
        before = now


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def settled(engine, ids: list[int]) -> dict[int, float]:
    """Each record's debit (or, postpaid, rating) time, once none is left pending."""
    with engine.connect() as connection:
        while connection.execute(
            text("SELECT count(*) FROM usage_records WHERE status = 'pending'")
        ).scalar():
            time.sleep(0.2)
        rows = connection.execute(
            text(
                "SELECT u.id, extract(epoch FROM coalesce(t.created_at, u.rated_at))"
                " FROM usage_records u LEFT JOIN ledger_transactions t"
                " ON t.id = u.ledger_transaction_id WHERE u.id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
    return {usage_id: float(at) for usage_id, at in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batches", type=int, default=10, help="per client")
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    Redis.from_url(REDIS).flushdb()
    tenants, key = prepare(20)
    plans = [
        [
            (kind, batch(kind, tenants, args.size, (c * args.batches + b) * args.size))
            for b in range(args.batches)
            for kind in ["cdrs" if (c + b) % 2 == 0 else "messages"]
        ]
        for c in range(args.clients)
    ]
    processes = start_service(args.port)
    try:
        warm_up(args.port, key, tenants)
        engine = make_engine(normalise_database_url(URL))
        settle_down(processes[1])  # the worker's start-up is not the timed run's CPU
        checkpoint()  # the preparation's WAL: its checkpoint is not the timed run's
        cpu_before = cpu_sample(engine, processes)
        out = mp.Queue()
        start = time.time() + 1.0
        clients = [mp.Process(target=client, args=(args.port, key, plan, start, out))
                   for plan in plans]  # fmt: skip
        for process in clients:
            process.start()
        timings = [timing for _ in clients for timing in out.get()]
        for process in clients:
            process.join()
        done_at = settled(engine, [i for t in timings for i in t[3]])
        cpu_after = cpu_sample(engine, processes)
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    records = sum(t[2] for t in timings)
    last = max(done_at.values())
    rate = records / (last - start)
    latencies = sorted(t[1] * 1e3 for t in timings)
    delays = sorted(done_at[i] - sent for sent, _took, _n, ids in timings for i in ids)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    debited_p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1e3
    load = os.getloadavg()
    print(f"ingest: {args.clients} clients x {args.batches} batches x {args.size} records"
          f" (CDRs and SMS alternately) into billing serve (2 processes) + 1 worker")  # fmt: skip
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f}")
    print(f"{'figure':<34}{'measured':>12}")
    print(_figure("records rated+debited /s", rate, f">= {TARGET_RATE:,}", rate >= TARGET_RATE))
    print(f"{'batch p50 ms':<34}{statistics.median(latencies):>12,.0f}")
    print(_figure("batch p99 ms", p99, f"< {TARGET_BATCH_P99_MS:,}", p99 < TARGET_BATCH_P99_MS))
    print(
        _figure(
            "POST to debited p99 ms", debited_p99, f"< {TARGET_DEBITED_P99_MS:,}",
            debited_p99 < TARGET_DEBITED_P99_MS,
        )
    )  # fmt: skip
    serve_us = _spent(cpu_before[0], cpu_after[0]) / records * 1e6
    worker_us = _spent(cpu_before[1], cpu_after[1]) / records * 1e6
    database_us = _spent(cpu_before[2], cpu_after[2]) / records * 1e6
    service_us = serve_us + worker_us
    print(f"{'CPU us/record: billing serve':<34}{serve_us:>12,.0f}")
    print(f"{'CPU us/record: billing worker':<34}{worker_us:>12,.0f}")
    print(f"{'CPU us/record: PostgreSQL':<34}{database_us:>12,.0f}")
    print(f"{'CPU us/record: both':<34}{service_us + database_us:>12,.0f}   (about 100 expected)")
    print(
        f"records accepted {records:,}; rated after the answer (by the worker): "
        f"{sum(1 for sent, took, _n, ids in timings for i in ids if done_at[i] > sent + took):,}"
    )


def _figure(name: str, measured: float, target: str, met: bool) -> str:
    return f"{name:<34}{measured:>12,.0f}   target {target}: {'met' if met else 'NOT met'}"


if __name__ == "__main__":
    main()
