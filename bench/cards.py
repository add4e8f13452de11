"""Stripe webhooks reconciled per worker: `payment_intent.succeeded` to a credited wallet.

1. Prepare: a fresh database with `--tenants` tenants; the Stripe fake
   (providers.sandbox.stripe_fake) with `--events` PaymentIntents, each paid by card;
   a pending card top-up per intent, as `POST /v1/topups` leaves it.
2. Intake (not the figure): `billing serve` takes each intent's `payment_intent.succeeded`
   webhook, signed by the stripe library's own signer, on /v1/callbacks/stripe; no worker
   runs meanwhile, so the reconcile jobs queue up in Redis.
3. Reconciliation (the figure): one `billing worker --burst` drains the queue. Each event
   is re-read from Stripe (the PaymentIntent, its charge and balance transaction
   expanded: one HTTP call to the fake), then applied: the wallet credited once and
   Stripe's fee booked. Counted from the first inbox row applied to the last.
   Then every top-up must be credited exactly once and have its fee row.

   Beside the rate: CPU per webhook while applying, of the worker (all its threads),
   of the Stripe fake (single-threaded localstripe, not the product, but it shares the
   cores) and of the bench database's PostgreSQL backends. On two cores, 500/s leaves
   the worker at most 2 ms of CPU a webhook, and only if the rest overlaps.

    .venv/bin/python bench/cards.py [--events 1000] [--tenants 50] [--clients 8]

`MALIPO_BENCH_PROFILE=out.prof` runs the worker (money queue only) under
bench/cpu_profile.py: a cProfile of its main thread's CPU, not of its waits.

Target: as mobile-money callbacks, >= 500 webhooks/s reconciled per worker.
Uses (and rebuilds) the database `malipo_bench_cards` and Redis database 12 (flushed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis
import requests
import stripe
from callbacks import Processes, _free_port, applied_count, cpu_seconds, wait_healthy
from sqlalchemy import text

from billing.core.clock import utcnow
from billing.core.config import normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.ids import new_id
from billing.core.money import Currency
from billing.schema import upgrade
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.topups.models import Initiation, Topup, TopupStatus
from billing.topups.service import reference_for
from providers.base import CollectionRequest
from providers.stripe.adapter import build

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "malipo_bench_cards"
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
REDIS_URL = os.environ.get("MALIPO_BENCH_REDIS", "redis://127.0.0.1:6379/12")
TARGET = 500.0
SECRET, PUBLISHABLE, WEBHOOK = "sk_test_bench", "pk_test_bench", "whsec_bench"


def start_fake(logs: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "providers.sandbox.stripe_fake", "--port", str(port)],
        stdout=(logs / "stripe.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{url}/js.stripe.com/v3/", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("the Stripe fake did not start")


def prepare(count: int, tenants: int, stripe_url: str) -> list[dict]:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)
    engine = make_engine(URL)
    with make_session_factory(engine).begin() as session:
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
    adapter = build("card", settings(stripe_url))
    rows = [_topup(n, tenant_ids[n % tenants]) for n in range(count)]
    with ThreadPoolExecutor(8) as pool:
        events = list(pool.map(lambda row: _paid(adapter, stripe_url, row), rows))
    with engine.begin() as connection:
        connection.execute(Topup.__table__.insert(), rows)
    engine.dispose()
    return events


def settings(stripe_url: str) -> dict[str, str]:
    return {
        "secret_key": SECRET,
        "publishable_key": PUBLISHABLE,
        "webhook_secret": WEBHOOK,
        "api_base": stripe_url,
    }


def _topup(n: int, tenant_id: str) -> dict:
    topup_id = new_id("top")
    return {
        "id": topup_id,
        "tenant_id": tenant_id,
        "reference": reference_for(topup_id),
        "provider": "card",
        "msisdn": "",
        "amount_minor": (1_000 + n % 97 * 500) * 100,
        "currency": "TZS",
        "status": TopupStatus.PENDING,
        "initiation": Initiation.SENT,
        "checks": 0,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }


def _paid(adapter, stripe_url: str, row: dict) -> dict:
    """The intent at Stripe, paid by the payer's browser; its success event, signed."""
    result = adapter.initiate_collection(
        CollectionRequest(
            topup_id=row["id"],
            reference=row["reference"],
            msisdn="",
            amount_minor=row["amount_minor"],
            currency="TZS",
            description="bench",
            callback_url="http://unused",
            metadata={"tenant_id": row["tenant_id"]},
        )
    )
    row["provider_ref"] = result.provider_ref
    secret = result.raw["client_secret"]
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    paid = requests.post(
        f"{stripe_url}/v1/payment_intents/{result.provider_ref}/_confirm_from_browser",
        data=json.dumps(
            {"key": PUBLISHABLE, "client_secret": secret,
             "payment_method_data": {"type": "card", "card": card}}
        ),
        timeout=10,
    ).json()  # fmt: skip
    body = json.dumps(
        {
            "id": f"evt_bench_{row['id']}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": paid},
        }
    )
    return {"topup_id": row["id"], "body": body}


def post_all(events: list[dict], endpoint: str, clients: int) -> dict[int, int]:
    codes: dict[int, int] = {}

    def one(event: dict) -> int:
        header = stripe.WebhookSignature.generate_signature_header(event["body"], WEBHOOK)
        return requests.post(
            endpoint,
            data=event["body"].encode(),
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(clients) as pool:
        for code in pool.map(one, events):
            codes[code] = codes.get(code, 0) + 1
    return codes


@dataclass
class Drained:
    start_s: float  # launch to the first row applied (the worker's own start-up)
    apply_s: float  # first row applied to the last
    worker_cpu_s: float  # the worker's CPU over the whole run, start-up included
    counted: int  # rows applied within the apply window (after the first sample)
    worker_s: float  # ... the worker's CPU meanwhile
    fake_s: float  # ... the Stripe fake's (not the product)
    database_s: float  # ... the PostgreSQL backends' of the bench database


def drain(processes: Processes, engine, expect: int, limit_s: float, fake: int) -> Drained:
    with engine.connect() as connection:
        launched = time.monotonic()
        profile = os.environ.get("MALIPO_BENCH_PROFILE")  # a cProfile output path
        if profile:
            billing = str(Path(sys.executable).parent / "billing")
            # Only the money queue: what follows the credits (PDFs) is not profiled.
            script = str(Path(__file__).with_name("cpu_profile.py"))  # main thread's CPU
            command = [sys.executable, script, profile, billing, "worker"]
            worker = subprocess.Popen(
                [*command, "--burst", "--queue", "default"],
                env=processes.env,
                stdout=(processes.logs / "worker.log").open("a"),
                stderr=subprocess.STDOUT,
            )
            processes.started.append(worker)
        else:
            worker = processes.start("worker", "worker", "--burst")
        first = last = None
        cpu = 0.0
        done = 0
        at_first: tuple[int, float, float, float] = (0, 0.0, 0.0, 0.0)
        while time.monotonic() - launched < limit_s:
            cpu = max(cpu, cpu_seconds(worker.pid))
            done = applied_count(connection)
            sample = (done, cpu, cpu_seconds(fake), _backends_cpu(connection))
            connection.commit()
            now = time.monotonic()
            if done and first is None:
                first, at_first = now, sample
            if done >= expect:
                last = now
                break
            if worker.poll() is not None:
                break
            time.sleep(0.05)
    if os.environ.get("MALIPO_BENCH_PROFILE"):
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(5)  # a burst worker ends by itself once its queue is empty
        worker.terminate()  # (its ticker may keep it) cpu_profile.py writes on the way out
        worker.wait(30)
    processes.stop(worker)
    if last is None or first is None:
        raise SystemExit(f"the worker applied {done} of {expect} webhooks; see its log")
    return Drained(
        first - launched,
        last - first,
        cpu,
        *(b - a for a, b in zip(at_first, sample, strict=True)),  # type: ignore[arg-type]
    )


def _backends_cpu(connection) -> float:
    """CPU so far of the PostgreSQL backends on the bench database (this one's too)."""
    pids = connection.execute(
        text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": DATABASE}
    ).scalars()
    return sum(cpu_seconds(pid) for pid in pids)


def verify(engine, events: list[dict]) -> list[str]:
    ids = [event["topup_id"] for event in events]
    with engine.connect() as connection:
        credited = connection.execute(
            text("SELECT count(*) FROM ledger_transactions WHERE idempotency_key = ANY(:keys)"),
            {"keys": [f"topup:{i}" for i in ids]},
        ).scalar_one()
        succeeded = connection.execute(
            text("SELECT count(*) FROM topups WHERE id = ANY(:ids) AND status = 'succeeded'"),
            {"ids": ids},
        ).scalar_one()
        fees = connection.execute(
            text("SELECT count(*) FROM card_charges WHERE topup_id = ANY(:ids)"), {"ids": ids}
        ).scalar_one()
    problems = []
    for name, value in (("credits", credited), ("succeeded", succeeded), ("fee rows", fees)):
        if value != len(ids):
            problems.append(f"{name}: {value} of {len(ids)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--drain-limit", type=float, default=300.0)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="malipo-bench-cards-"))
    fake, stripe_url = start_fake(logs)
    processes = Processes({}, logs)
    try:
        print(f"preparing {DATABASE}: {args.tenants} tenants, {args.events:,} paid intents ...")
        events = prepare(args.events, args.tenants, stripe_url)
        redis.Redis.from_url(REDIS_URL).flushdb()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        processes.env = {
            **os.environ,
            "DATABASE_URL": URL,
            "REDIS_URL": REDIS_URL,
            "MALIPO_PROVIDER_MODE": "sandbox",
            "MALIPO_PUBLIC_URL": base,
            "SECRET_KEY": "bench",
            "MALIPO_PROVIDER_SETTINGS": json.dumps({"card": settings(stripe_url)}),
        }
        serve = processes.start("serve", "serve", "--port", str(port))
        wait_healthy(base, serve)
        started = time.monotonic()
        codes = post_all(events, f"{base}/v1/callbacks/stripe", args.clients)
        intake_s = time.monotonic() - started
        if codes != {200: len(events)}:
            raise SystemExit(f"intake answers {codes}; see {logs}/serve.log")
        print(
            f"intake: {len(events):,} signed webhooks stored in {intake_s:.1f} s (not the figure)"
        )
        queued = redis.Redis.from_url(REDIS_URL).llen("rq:queue:default")
        print(f"queued: {queued} RQ jobs (batches) for {len(events):,} webhooks")
        engine = make_engine(URL, pool_size=1, max_overflow=0)
        run = drain(processes, engine, len(events), args.drain_limit, fake.pid)
        problems = verify(engine, events)
        rate = len(events) / run.apply_s if run.apply_s else float("nan")
        load = os.getloadavg()
        per = 1000 / max(run.counted, 1)  # CPU ms per webhook applied in the window
        print("\nStripe webhooks reconciled by one worker (billing worker --burst)")
        print(
            f"{'events':>7} {'start s':>8} {'apply s':>8} {'webhooks/s':>11} {'target':>7}"
            f" {'worker CPU s':>13}"
        )
        print(
            f"{len(events):>7,} {run.start_s:>8.2f} {run.apply_s:>8.2f} {rate:>11,.0f}"
            f" {TARGET:>7,.0f} {run.worker_cpu_s:>13.1f}"
        )
        print(
            f"CPU per webhook while applying ({run.counted:,} rows): worker"
            f" {run.worker_s * per:.2f} ms (target <= {1000 / TARGET:.1f} ms on one core),"
            f" Stripe fake {run.fake_s * per:.2f} ms (not the product),"
            f" PostgreSQL {run.database_s * per:.2f} ms"
        )
        print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
        print(
            "money: "
            + (
                "every top-up credited once, every fee booked"
                if not problems
                else "; ".join(problems)
            )
        )
        if problems:
            raise SystemExit(1)
    finally:
        processes.stop_all()
        fake.terminate()
        fake.wait(10)


if __name__ == "__main__":
    main()
