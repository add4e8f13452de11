"""Invoicing on PostgreSQL: finalisations/s through the gapless counters, and receipts/s
posted to the TRA simulator in GC order.

A finalisation is what `POST /v1/invoices/{id}/finalize` costs: the invoice row locked,
the series counter and the VFD counter taken under row locks, the document built, the
`<RCT>` built and signed (SHA1withRSA, 2048-bit key), the outbox rows and the audit row,
one COMMIT. Writers are processes racing for the same counters, so this is the ceiling
gapless numbering puts on issuing; afterwards the numbers are checked for gaps.
Fiscalisation is one drainer, as in production (one receipt at a time, in order), over
real HTTP to the simulator on loopback, which verifies every signature.

    .venv/bin/python bench/invoicing.py [--invoices 400] [--writers 1,4]

Uses (and rebuilds) the database `malipo_bench_invoicing`; jobs go to Redis db 13 and
are dropped (rendering is bench/invoices.py's subject).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis
from sqlalchemy import func, select, text

import billing.invoicing.jobs  # noqa: F401  # registers the jobs finalise defers
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.invoicing import service, vfd
from billing.invoicing.fiscal import drain
from billing.invoicing.models import Invoice
from billing.processes.runtime import build_runtime
from billing.schema import upgrade
from billing.usage.models import UsageRecord, UsageStatus
from invoices.vfd.simulator import TraState, serve

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
URL = normalise_database_url(f"{SERVER}/malipo_bench_invoicing")
REDIS = os.environ.get("MALIPO_BENCH_REDIS", "redis://127.0.0.1:6379/13")
PERIOD = (date(2026, 10, 1), date(2026, 11, 1))
PFX = str(Path(tempfile.gettempdir()) / "malipo-bench-vfd.pfx")


def settings(vfd_base_url: str | None = None) -> Settings:
    return Settings(database_url=URL, redis_url=REDIS, vfd_pfx_path=PFX,
                    vfd_base_url=vfd_base_url, secret_key="bench")  # fmt: skip


def prepare(invoices: int) -> list[str]:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS malipo_bench_invoicing WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE malipo_bench_invoicing"))
    admin.dispose()
    upgrade(URL)
    runtime = build_runtime(settings())
    vfd.signing_key(runtime.settings)  # make the sandbox key before the writers fork
    ids = [f"ten_bench{n:05d}" for n in range(invoices)]
    at = datetime(2026, 10, 5, 9, tzinfo=UTC)
    with runtime.sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO tenants (id, name, email, msisdn, tin, billing_mode, currency, status,"
                " created_at) VALUES (:id, 'Bench Ltd', 'b@b.tz', '255712345678', '123456789',"
                " 'postpaid', 'TZS', 'active', now())"
            ),
            [{"id": tenant_id} for tenant_id in ids],
        )
        session.add_all(
            UsageRecord(source_system="bench", source_id=uuid.uuid4().hex, tenant_id=tenant_id,
                        service=service_name, to_number="255754000111", occurred_at=at,
                        started_at=at, status=UsageStatus.ACCRUED, zone=zone, unit=unit,
                        billed_units=600, currency="TZS", net_minor=1_000_00 + n)
            for tenant_id in ids
            for n, (service_name, zone, unit) in enumerate(
                [("voice", "TZ-MOB", "second"), ("voice", "KE-MOB", "second"),
                 ("sms", "TZ-MOB", "segment")]
            )
        )  # fmt: skip
    drafts = []
    with runtime.sessions.begin() as session:
        for tenant_id in ids:
            invoice, _ = service.create_postpaid_draft(session, "bench", tenant_id, *PERIOD)
            drafts.append(invoice.id)
    runtime.engine.dispose()
    return drafts


def writer(drafts: list[str], start: float, results: mp.Queue) -> None:
    runtime = build_runtime(settings())
    latencies = []
    while time.time() < start:
        time.sleep(0.001)
    began_at = time.time()
    for invoice_id in drafts:
        began = time.perf_counter()
        with runtime.sessions.begin() as session:  # the request's unit of work
            service.finalise(session, runtime.settings, "bench", invoice_id)
        latencies.append(time.perf_counter() - began)
    ended_at = time.time()
    runtime.engine.dispose()
    results.put((began_at, ended_at, latencies))


def finalise_all(drafts: list[str], writers: int) -> tuple[float, float]:
    results: mp.Queue = mp.Queue()
    start = time.time() + 5.0  # every writer imported and connected before the race
    shares = [drafts[i::writers] for i in range(writers)]
    procs = [mp.Process(target=writer, args=(share, start, results)) for share in shares]
    for proc in procs:
        proc.start()
    runs = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = max(end for _, end, _ in runs) - min(began for began, _, _ in runs)
    latencies = [lat for _, _, lats in runs for lat in lats]
    return len(drafts) / elapsed, statistics.median(latencies) * 1000


def gapless(drafts: list[str]) -> str:
    engine = make_engine(URL)
    with engine.connect() as connection:
        numbers = sorted(connection.execute(
            select(Invoice.number).where(Invoice.id.in_(drafts))
        ).scalars())  # fmt: skip
    engine.dispose()
    ok = numbers == list(range(numbers[0], numbers[0] + len(drafts)))
    verdict = "no gap, no repeat" if ok else "GAP"
    return f"{len(numbers)} numbers {numbers[0]}..{numbers[-1]}: {verdict}"


def fiscalise_all(total: int) -> float:
    runtime_settings = settings()
    key = vfd.signing_key(runtime_settings)
    d = runtime_settings.vfd_device
    state = TraState(certificate=key.certificate, tin=d["tin"], cert_key=d["efd_serial"],
                     receipt_code=d["receipt_code"])  # fmt: skip
    with serve(state) as url:
        runtime = build_runtime(settings(vfd_base_url=url))
        client = vfd.client(runtime.settings)
        began = time.perf_counter()
        done = drain(runtime, client, d["efd_serial"])
        elapsed = time.perf_counter() - began
        with runtime.sessions() as session:
            left = session.execute(
                select(func.count()).select_from(Invoice).where(Invoice.fiscal_status == "pending")
            ).scalar_one()
        runtime.engine.dispose()
    assert done == total and left == 0, (done, left)
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--writers", default="1,4")
    args = parser.parse_args()
    print(f"invoicing on PostgreSQL, {os.cpu_count()} cores; {args.invoices} invoices per run")
    finalised = 0
    for writers in [int(w) for w in args.writers.split(",")]:
        drafts = prepare(args.invoices)
        rate, median_ms = finalise_all(drafts, writers)
        finalised = len(drafts)
        print(f"  finalise, {writers} writer(s): {rate:8.1f} invoices/s, "
              f"median {median_ms:.1f} ms; {gapless(drafts)}")  # fmt: skip
    receipts = fiscalise_all(finalised)
    print(f"  fiscalise, 1 drainer in GC order over HTTP: {receipts:8.1f} receipts/s "
          f"({finalised} acknowledged by the simulator, signatures verified)")  # fmt: skip
    Redis.from_url(REDIS).flushdb()


if __name__ == "__main__":
    main()
