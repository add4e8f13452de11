"""Page render times under demo data: python bench/pages.py [--quick]

Seeds the demo tenant (billing.demo.seed) with a month of rated usage and a ledger
statement, a postpaid tenant's draft invoice and review items, then renders each main
page of the portal and the back office through the whole app (session lookup, the API's
service functions, Jinja, Babel) and prints p50 and p95 per page beside the target. The
database is PostgreSQL (MALIPO_BENCH_SERVER); the load average is printed too: the other
work on the 2 cores shows in the times.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp
from sqlalchemy import text

from billing import create_app
from billing.backoffice.enrolment import demo_access
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine
from billing.core.money import Currency
from billing.demo import seed
from billing.invoicing import service as invoicing
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.seed import put_on_default_plan
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.topups.reviews import open_item
from billing.usage.models import UsageRecord, UsageStatus
from tests.factories import charge

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "malipo_bench_pages"
URL = normalise_database_url(f"{SERVER}/{DATABASE}")
QUICK = "--quick" in sys.argv
RUNS = 15 if QUICK else 60
RECORDS = 600 if QUICK else 3000  # a month of a small business's calls and messages
TARGET_P95_MS = 250
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def prepare() -> None:
    admin = make_engine(normalise_database_url(f"{SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    upgrade(URL)


def fill(runtime) -> tuple[str, str, str]:
    """The demo tenant's month, a postpaid draft, review items; returns the tenant, the
    draft and a usage record id."""
    keys = seed(runtime)
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=6, minute=0, second=0, microsecond=0)
    services = (
        ("voice", "second", 180, 900),
        ("sms", "segment", 1, 20),
        ("whatsapp", "message", 1, 150),
    )
    with runtime.unit_of_work() as session:
        for n in range(RECORDS):
            service, unit, units, net = services[n % 3]
            at = start + timedelta(
                seconds=n * max(1, int((now - start).total_seconds()) // RECORDS)
            )
            session.add(UsageRecord(
                source_system="bench", source_id=uuid.uuid4().hex, tenant_id=keys.tenant_id,
                service=service, to_number=f"2557540{n:05d}", occurred_at=at, started_at=at,
                status=UsageStatus.BILLED, zone="TZ-MOB-VODACOM", unit=unit, billed_units=units,
                currency="TZS", net_minor=net, vat_minor=net * 18 // 100,
                breakdown={"rate": "5.00 TZS/min", "increment": "60/60"},
            ))  # fmt: skip
        for n in range(RECORDS // 10):
            charge(session, keys.tenant_id, 1_000 + n, key=f"bench-charge-{n}")
        postpaid = create_tenant(session, NewTenant(
            name="Bench Postpaid Ltd", email="p@bench.tz", msisdn="255754000222",
            billing_mode=BillingMode.POSTPAID, currency=Currency.TZS,
        ))  # fmt: skip
        put_on_default_plan(session, postpaid.id)
        last = date(now.year, now.month, 1) - timedelta(days=1)
        for n in range(200):
            at = datetime(last.year, last.month, 1 + n % 28, 9, tzinfo=UTC)
            session.add(UsageRecord(
                source_system="bench", source_id=uuid.uuid4().hex, tenant_id=postpaid.id,
                service="voice", to_number="255754000111", occurred_at=at, started_at=at,
                status=UsageStatus.ACCRUED, zone="TZ-MOB-VODACOM", unit="second",
                billed_units=600, currency="TZS", net_minor=3000,
            ))  # fmt: skip
        session.flush()
        draft, _made = invoicing.create_postpaid_draft(
            session, "bench", postpaid.id, last.replace(day=1), last + timedelta(days=1)
        )
        for n in range(50):
            open_item(session, kind="unknown_reference", summary=f"callback for no top-up #{n}",
                      detail={"reference": f"X{n}"}, tenant_id=None)  # fmt: skip
        record_id = session.execute(
            text("SELECT max(id) FROM usage_records WHERE tenant_id = :t"), {"t": keys.tenant_id}
        ).scalar_one()
    return keys.tenant_id, draft.id, str(record_id)


def timed(client, path: str) -> list[float]:
    assert client.get(path).status_code == 200, path  # warm, and a check it renders
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, path
    return samples


def report(name: str, samples: list[float]) -> bool:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    ok = p95 <= TARGET_P95_MS
    print(f"  {name:<34} p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"
          f"   target p95 ≤ {TARGET_P95_MS} ms  {'ok' if ok else 'OVER'}")  # fmt: skip
    return ok


def main() -> None:
    prepare()
    app = create_app(Settings(database_url=URL, secret_key="bench", public_url="http://localhost"))
    runtime = app.extensions[EXTENSION]
    tenant_id, draft_id, record_id = fill(runtime)
    access = demo_access(runtime.unit_of_work, "http://localhost", tenant_id)
    portal = app.test_client()
    portal.get(access.portal_url.removeprefix("http://localhost"))
    office = app.test_client()
    token = CSRF.search(office.get("/office/sign-in").get_data(as_text=True))[1]
    office.post(
        "/office/sign-in",
        data={"email": access.staff_email, "password": access.staff_password, "csrf_token": token},
    )
    code = pyotp.TOTP(access.enrolment.totp_secret).now()
    office.post("/office/sign-in/code", data={"code": code, "csrf_token": token})
    print(f"Page renders, {RUNS} each, {RECORDS} usage records this month "
          f"(load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores)")  # fmt: skip
    pages = [
        ("portal: overview (chart)", portal, "/portal/"),
        ("portal: top up", portal, "/portal/topup"),
        ("portal: statement", portal, "/portal/statement"),
        ("portal: usage explorer", portal, "/portal/usage"),
        ("portal: usage record", portal, f"/portal/usage/{record_id}"),
        ("portal: invoices", portal, "/portal/invoices"),
        ("portal: profile", portal, "/portal/profile"),
        ("office: review queue", office, "/office/reviews"),
        ("office: invoices", office, "/office/invoices"),
        ("office: draft invoice", office, f"/office/invoices/{draft_id}"),
    ]
    results = [report(name, timed(client, path)) for name, client, path in pages]
    print(f"  {sum(results)} of {len(results)} pages within the target")


if __name__ == "__main__":
    main()
