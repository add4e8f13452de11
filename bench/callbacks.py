"""Provider callbacks end to end: accepted/s by `billing serve`, reconciled/s by a worker.

1. Intake. `billing serve` (Granian, as shipped) takes signed Selcom webhooks on
   /v1/callbacks/selcom from a closed-loop load generator on loopback: `--clients`
   connections send `--requests` callbacks, each for its own pending HaloPesa top-up,
   after 200 untimed warm-up callbacks. The timed run uses wrk where it is installed
   (bench/wrk_load.py: a Python client would spend as much CPU as the service, on the
   same two cores), else threads with a requests.Session each, spread over
   `--client-procs` processes. A callback is accepted when it is verified (HS256
   digest), stored in the inbox with its reconcile job in the outbox, committed, relayed
   to Redis and answered 200. No worker runs meanwhile: the jobs queue up in Redis.
2. Reconciliation. One `billing worker --burst` process (a real RQ worker) drains the
   queue while the inbox rows turning `applied` are counted. Then every top-up must be
   credited exactly once (one ledger transaction whose reference is the top-up) and every
   wallet must hold the sum of its top-ups. `apply s` runs from the first row applied to
   the last; then the worker is stopped. What each credit sets going after it (the
   platform's event, the fiscal receipt, its PDF and e-mail) is not part of the figure:
   those run on their own, lower-priority queues.

`--worker-class both` (the default) drains the step-1 callbacks with `billing worker
--burst` as shipped (jobs in the worker process, RQ's SimpleWorker), then posts
`--second-batch` more callbacks (untimed) with the worker stopped again and drains them
with `billing worker --burst --fork` (RQ's forking Worker: a work-horse per job).

    .venv/bin/python bench/callbacks.py [--requests 1500] [--clients 16]
        [--serve-workers N] [--worker-class default|fork|both] [--second-batch 1000]

Uses (and rebuilds) the database `malipo_bench_callbacks` and Redis database 13 (flushed).
Every process it starts is stopped at the end, on error too.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
import requests
import wrk_load  # bench/wrk_load.py
from sqlalchemy import text

from billing.core.clock import utcnow
from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.jobs.queues import QUEUES
from billing.processes.serve import THREADS
from billing.schema import upgrade
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.topups.models import Initiation, Topup, TopupStatus
from billing.topups.service import reference_for
from providers.sandbox import sandbox_settings, selcom_signing

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "malipo_bench_callbacks"
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
REDIS_URL = os.environ.get("MALIPO_BENCH_REDIS", "redis://127.0.0.1:6379/13")
BILLING = str(Path(sys.executable).parent / "billing")
WARMUP = 200  # callbacks sent before the timed run: connections, imports, caches
REQUEST_TIMEOUT_S = 10
INTAKE_LIMIT_S = 90  # the load generator stops here whatever is left
DRAIN_LIMIT_S = 300  # a worker still running after this is stopped
WRK_THREADS = 2  # wrk's event-loop threads; one a core is plenty


@dataclass(frozen=True)
class Callback:
    topup_id: str
    tenant_id: str
    amount_minor: int
    body: bytes
    headers: dict[str, str]


# -- the database and the callbacks -------------------------------------------------------


def prepare(count: int, tenants: int) -> list[Callback]:
    """A fresh database with `tenants` tenants and `count` pending top-ups, each with the
    success webhook Selcom would send for it, signed as the simulator signs it."""
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)
    engine = make_engine(URL)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        tenant_ids = [
            create_tenant(
                session,
                NewTenant(
                    name=f"Bench {n}",
                    email=f"bench{n}@example.co.tz",
                    msisdn="255754123456",
                    billing_mode=BillingMode.PREPAID,
                    currency=Currency.TZS,
                ),
            ).subject.id
            for n in range(tenants)
        ]
    rows = []
    for n in range(count):
        topup_id = new_id("top")
        rows.append(
            {
                "id": topup_id,
                "tenant_id": tenant_ids[n % tenants],
                "reference": reference_for(topup_id),
                "provider": "halopesa",
                "msisdn": f"25562{n:07d}",
                "amount_minor": (1_000 + n % 97 * 500) * 100,  # whole shillings
                "currency": "TZS",
                "status": TopupStatus.PENDING,
                "initiation": Initiation.SENT,  # pushed already: nothing for a sweeper
                "provider_ref": reference_for(topup_id),
                "checks": 0,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    with engine.begin() as connection:
        connection.execute(Topup.__table__.insert(), rows)
    engine.dispose()
    selcom = sandbox_settings("halopesa", "http://127.0.0.1/sandbox/selcom")
    return [_signed_webhook(row, selcom["api_key"], selcom["api_secret"]) for row in rows]


def _signed_webhook(topup: dict, api_key: str, api_secret: str) -> Callback:
    """The body and headers of SelcomSimulator._notify for a paid push."""
    body = {
        "transid": f"push-{topup['id']}",
        "order_id": topup["reference"],
        "reference": f"SB{topup['id'][-10:]}",
        "result": "SUCCESS",
        "resultcode": "000",
        "payment_status": "COMPLETED",
        "amount": str(topup["amount_minor"] // 100),
        "msisdn": topup["msisdn"],
        "message": "Payment received",
        "channel": "HALOPESA",
    }
    headers = selcom_signing.sign(body, api_key, api_secret, selcom_signing.local_now())
    return Callback(
        topup["id"], topup["tenant_id"], topup["amount_minor"], json.dumps(body).encode(), headers
    )


# -- the processes under test --------------------------------------------------------------


def _unrelayed() -> int:
    engine = make_engine(URL)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM outbox WHERE relayed_at IS NULL")
        ).scalar_one()
    engine.dispose()
    return count


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """What the benchmark started, each in its own process group, stopped on the way out."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("a")
        process = subprocess.Popen(
            [BILLING, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the server's workers, RQ's work-horse
        )
        log.close()
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with contextlib.suppress(ProcessLookupError):  # a straggler in its group
            os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("billing serve exited; see its log")
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit("billing serve did not answer /healthz within 30 s")


def cpu_seconds(root: int) -> float:
    """User + system CPU so far of a process, its live children and its reaped ones."""
    pids = [root]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{root}/task/{root}/children").read_text().split()
        pids += [int(pid) for pid in children]
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(n) for n in fields[11 : 15 if pid == root else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


# -- the load generator ---------------------------------------------------------------------


def _client(
    callbacks: list[Callback], url: str, threads: int, start: float, results: mp.Queue
) -> None:
    """`threads` connections, each sending the next callback once the last is answered."""
    order = itertools.count()
    latencies: list[float] = []
    codes: Counter = Counter()
    lock = threading.Lock()

    def connection() -> None:
        session = requests.Session()
        mine: list[float] = []
        seen: Counter = Counter()
        while time.time() < start:
            time.sleep(0.001)
        deadline = start + INTAKE_LIMIT_S
        while (n := next(order)) < len(callbacks) and time.time() < deadline:
            callback = callbacks[n]
            began = time.perf_counter()
            try:
                answer = session.post(
                    url, data=callback.body, headers=callback.headers, timeout=REQUEST_TIMEOUT_S
                )
                code: int | str = answer.status_code
            except requests.RequestException as error:
                code = type(error).__name__
            if code == 200:
                mine.append(time.perf_counter() - began)
            seen[code] += 1
        session.close()
        with lock:
            latencies.extend(mine)
            codes.update(seen)

    workers = [threading.Thread(target=connection) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((latencies, dict(codes), time.time(), usage.ru_utime + usage.ru_stime))


@dataclass(frozen=True)
class Intake:
    accepted: int
    codes: dict
    seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu_s: float

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds


def _percentile(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def send(callbacks: list[Callback], url: str, clients: int, procs: int) -> Intake:
    """Post every callback over `clients` connections in `procs` processes."""
    procs = max(1, min(procs, clients))
    results: mp.Queue = mp.Queue()
    start = time.time() + 0.5
    shares = [callbacks[n::procs] for n in range(procs)]
    threads = [clients // procs + (n < clients % procs) for n in range(procs)]
    workers = [
        mp.Process(target=_client, args=(share, url, count, start, results), daemon=True)
        for share, count in zip(shares, threads, strict=True)
    ]
    for worker in workers:
        worker.start()
    gathered = [results.get(timeout=INTAKE_LIMIT_S + REQUEST_TIMEOUT_S + 30) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    codes: Counter = Counter()
    for _lat, seen, _end, _cpu in gathered:
        codes.update(seen)
    latencies = [lat for lats, *_rest in gathered for lat in lats]
    return Intake(
        accepted=len(latencies),
        codes=dict(codes),
        seconds=max(end for _lat, _codes, end, _cpu in gathered) - start,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        client_cpu_s=sum(cpu for *_rest, cpu in gathered),
    )


def send_with_wrk(
    pool: list[Callback], url: str, clients: int, seconds: float, engine
) -> tuple[Intake, list[Callback]]:
    """Post from `pool` with wrk for `seconds`; accepted = the new inbox rows, counted after.

    Returns the intake and the callbacks that were stored (wrk leaves the rest unsent)."""
    inbox = "SELECT id, event->>'our_reference' AS reference, deliveries FROM callback_inbox"
    with engine.connect() as connection:
        last = connection.execute(text("SELECT coalesce(max(id), 0) FROM callback_inbox"))
        last = last.scalar_one()
    run = wrk_load.post_for(
        [(callback.body, callback.headers) for callback in pool],
        url,
        clients,
        WRK_THREADS,
        seconds,
    )
    time.sleep(0.5)  # requests wrk gave up on at the bell may still commit
    with engine.connect() as connection:
        rows = connection.execute(text(f"{inbox} WHERE id > :last"), {"last": last}).all()
    references = {row.reference for row in rows}
    repeats = sum(row.deliveries - 1 for row in rows)
    stored = [callback for callback in pool if _reference(callback) in references]
    codes = {"2xx": run.requests - run.non_2xx, "non-2xx": run.non_2xx, "repeats": repeats}
    if run.timeouts or run.errors:
        codes.update(timeouts=run.timeouts, errors=run.errors)
    intake = Intake(len(rows), codes, run.seconds, run.p50_ms, run.p99_ms, run.cpu_s)
    return intake, stored


def _reference(callback: Callback) -> str:
    return json.loads(callback.body)["order_id"]


# -- the worker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    rows: int
    startup_s: float  # launch to the first row applied
    applying_s: float  # first row applied to the last
    worker_cpu_s: float

    @property
    def rate(self) -> float:
        return self.rows / self.applying_s if self.applying_s else float("nan")


def applied_count(connection) -> int:
    return connection.execute(
        text("SELECT count(*) FROM callback_inbox WHERE status = 'applied'")
    ).scalar_one()


def drain(processes: Processes, engine, worker_class: str, expect: int) -> Drain:
    """One `billing worker --burst` until `expect` inbox rows are applied; then it is stopped."""
    args = ["worker", "--burst"] + (["--fork"] if worker_class == "fork" else [])
    with engine.connect() as connection:
        before = applied_count(connection)
        launched = time.monotonic()
        worker = processes.start(f"worker-{worker_class}", *args)
        first = last = None
        cpu = 0.0
        while time.monotonic() - launched < DRAIN_LIMIT_S:
            cpu = max(cpu, cpu_seconds(worker.pid))
            done = applied_count(connection) - before
            connection.commit()
            now = time.monotonic()
            if done and first is None:
                first = now
            if done >= expect:
                last = now
                break
            if worker.poll() is not None:
                break
            time.sleep(0.05)
    if last is None:
        processes.stop(worker)
        raise SystemExit(
            f"{worker_class} worker applied {done} of {expect} callbacks"
            f" in {time.monotonic() - launched:.0f} s; see its log"
        )
    processes.stop(worker)
    return Drain(expect, first - launched, last - first, cpu)


# -- checks -------------------------------------------------------------------------------------


def verify(engine, callbacks: list[Callback]) -> list[str]:
    """What is wrong with the money afterwards; empty when every credit happened once."""
    ids = [callback.topup_id for callback in callbacks]
    problems = []
    with engine.connect() as connection:
        credits = dict(
            connection.execute(
                text(
                    "SELECT t.id, count(l.id) FROM topups t LEFT JOIN ledger_transactions l"
                    " ON l.reference = t.id WHERE t.id = ANY(:ids) GROUP BY t.id"
                ),
                {"ids": ids},
            ).all()
        )
        wrong = {topup: n for topup, n in credits.items() if n != 1}
        if wrong or len(credits) != len(ids):
            problems.append(f"{len(wrong)} top-ups not credited exactly once, e.g. {wrong}")
        unsettled = connection.execute(
            text("SELECT count(*) FROM topups WHERE id = ANY(:ids) AND status <> 'succeeded'"),
            {"ids": ids},
        ).scalar_one()
        if unsettled:
            problems.append(f"{unsettled} top-ups not succeeded")
        inbox = dict(
            connection.execute(
                text("SELECT status, count(*) FROM callback_inbox GROUP BY status")
            ).all()
        )
        if set(inbox) != {"applied"}:
            problems.append(f"inbox rows by status: {inbox}")
        reviews = connection.execute(text("SELECT count(*) FROM review_items")).scalar_one()
        if reviews:
            problems.append(f"{reviews} review items opened")
        wallets = dict(
            connection.execute(
                text("SELECT tenant_id, balance_minor FROM ledger_accounts WHERE kind = 'wallet'")
            ).all()
        )
        credited = dict(
            connection.execute(
                text(
                    "SELECT tenant_id, sum(amount_minor) FROM topups"
                    " WHERE status = 'succeeded' GROUP BY tenant_id"
                )
            ).all()
        )
        off = [t for t in wallets if wallets[t] != credited.get(t, 0)]
        if off:
            problems.append(f"{len(off)} wallets differ from the sum of their top-ups")
        unbalanced = connection.execute(
            text(
                "SELECT count(*) FROM ledger_accounts a WHERE balance_minor <>"
                " (SELECT coalesce(sum(amount_minor), 0) FROM ledger_entries e"
                " WHERE e.account_id = a.id)"
            )
        ).scalar_one()
        if unbalanced:
            problems.append(f"{unbalanced} accounts differ from their entries")
    return problems


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="timed callbacks")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--client-procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument(
        "--serve-workers",
        type=int,
        default=2,
        help="server processes (2: live mode's default; sandbox mode alone runs 1)",
    )
    parser.add_argument(
        "--worker-class", choices=("default", "fork", "both"), default="both", help="RQ worker"
    )
    parser.add_argument(
        "--second-batch",
        type=int,
        default=1000,
        help="callbacks the forking worker drains (both)",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk's timed run")
    parser.add_argument(
        "--wrk-pool", type=int, default=12_000, help="callbacks ready for wrk (must outlast it)"
    )
    parser.add_argument(
        "--load",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="the timed intake's load generator (wrk when installed: apt-get install wrk)",
    )
    args = parser.parse_args()
    classes = ["default", "fork"] if args.worker_class == "both" else [args.worker_class]
    timed_count = args.wrk_pool if args.load == "wrk" else args.requests
    first = WARMUP + timed_count
    total = first + args.second_batch * (len(classes) - 1)

    print(f"preparing {DATABASE}: {args.tenants} tenants, {total:,} pending top-ups ...")
    callbacks = prepare(total, args.tenants)
    redis.Redis.from_url(REDIS_URL).flushdb()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": URL,
        "REDIS_URL": REDIS_URL,
        "MALIPO_PROVIDER_MODE": "sandbox",
        "MALIPO_PUBLIC_URL": base,
        "SECRET_KEY": "bench",
    }
    logs = Path(tempfile.mkdtemp(prefix="malipo-bench-callbacks-"))
    processes = Processes(env, logs)
    engine = make_engine(URL, pool_size=1, max_overflow=0)
    try:
        serve_args = ["serve", "--port", str(port), "--workers", str(args.serve_workers)]
        serve = processes.start("serve", *serve_args)
        wait_healthy(base, serve)
        endpoint = f"{base}/v1/callbacks/selcom"
        warm = send(callbacks[:WARMUP], endpoint, args.clients, args.client_procs)
        if warm.codes != {200: WARMUP}:
            raise SystemExit(f"warm-up answers: {warm.codes}; see {logs}/serve.log")
        serve_cpu = cpu_seconds(serve.pid)
        timed = callbacks[WARMUP:first]
        if args.load == "wrk":
            intake, stored = send_with_wrk(timed, endpoint, args.clients, args.seconds, engine)
            generator = f"wrk {WRK_THREADS} threads, {args.seconds:g} s, pool {len(timed):,}"
        else:
            intake, stored = send(timed, endpoint, args.clients, args.client_procs), timed
            generator = f"Python, {args.client_procs} processes"
        serve_cpu = cpu_seconds(serve.pid) - serve_cpu
        # Wait for the relay threads: what counts as queued is what reached Redis.
        time.sleep(1)
        queued = sum(redis.Redis.from_url(REDIS_URL).llen(f"rq:queue:{name}") for name in QUEUES)
        unrelayed = _unrelayed()
        print(
            f"\ncallback intake: signed Selcom webhooks, {args.clients}"
            f" connections ({generator}), Granian"
            f" {args.serve_workers} worker(s) x {THREADS} threads, {os.cpu_count()} CPUs"
        )
        print(f"{'accepted':>9} {'seconds':>8} {'callbacks/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
        print(
            f"{intake.accepted:>9,} {intake.seconds:>8.2f} {intake.rate:>12,.0f}"
            f" {intake.p50_ms:>8.2f} {intake.p99_ms:>8.2f}"
        )
        if intake.accepted != len(stored) or (args.load == "python" and len(stored) != len(timed)):
            raise SystemExit(f"{intake.accepted} of {len(timed)} callbacks stored: {intake.codes}")
        print(
            f"answers {intake.codes}; CPU during the run: serve {serve_cpu:.1f} s"
            f" ({serve_cpu / intake.accepted * 1e3:.1f} ms a callback), load generator"
            f" {intake.client_cpu_s:.1f} s; jobs queued in Redis: {queued:,}, outbox rows"
            f" not yet relayed: {unrelayed:,}"
        )

        drains = []
        posted = callbacks[:WARMUP] + stored
        for n, worker_class in enumerate(classes):
            expect = len(posted)
            if n:  # the intake run posted the first batch; this one goes untimed
                start = first + (n - 1) * args.second_batch
                batch = callbacks[start : start + args.second_batch]
                more = send(batch, endpoint, args.clients, args.client_procs)
                if more.codes != {200: len(batch)}:
                    raise SystemExit(f"answers: {more.codes}; see {logs}/serve.log")
                posted += batch
                expect = len(batch)
            drains.append((worker_class, drain(processes, engine, worker_class, expect)))
            problems = verify(engine, posted)
            if problems:
                raise SystemExit(f"after the {worker_class} worker: " + "; ".join(problems))
        processes.stop(serve)

        print("\nreconciliation: one `billing worker --burst`, launched with the jobs queued")
        print(
            f"{'worker':>8} {'rows':>7} {'start s':>8} {'apply s':>8} {'recon/s':>8} {'CPU ms':>7}"
        )
        for worker_class, result in drains:
            print(
                f"{worker_class:>8} {result.rows:>7,} {result.startup_s:>8.2f}"
                f" {result.applying_s:>8.2f} {result.rate:>8,.0f}"
                f" {result.worker_cpu_s / result.rows * 1e3:>7.1f}"
            )
        print("(CPU ms: the worker's and its work-horses' CPU until the last row, per row)")
        print(
            f"all {len(posted):,} top-ups credited exactly once (ledger reference = top-up id);"
            f" every wallet equals its top-ups; logs in {logs}"
        )
    finally:
        processes.stop_all()
        engine.dispose()


if __name__ == "__main__":
    main()
