"""Bundles drawn by rating: split records, periods, racing jobs, re-rating, authorisation."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from billing.rating.plans import Service
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, seed_tariffs, starter_plan_definition
from billing.usage.events import Disposition, UsageEvent
from billing.usage.intake import event_row, insert_new
from billing.usage.jobs import rate
from billing.usage.models import BundleBalance
from tests.factories import top_up
from tests.integration.usage.conftest import cdr, rows, send
from tests.integration.usage.test_rating import NET, VAT, balance

pytestmark = pytest.mark.integration

# 65 s at TZS 70/min (peak, 60/1) with 55 s from the bundle: 10 s charged = 11.6667
SPLIT_NET, SPLIT_VAT = 11_67, 2_10


def bundle_plan(session, tenant_id: str, minutes_s: int = 120, code: str | None = None) -> str:
    """The starter plan under a code of the test's own (so a new version touches no one
    else), its mobile bundle `minutes_s` billed seconds a month; assigned since 2020."""
    seed_tariffs(session)
    definition = starter_plan_definition()
    definition["bundles"][0]["units"] = minutes_s
    code = code or f"BUNDLE-{uuid.uuid4().hex[:10]}"
    saved = save_plan(session, code, "Bundle test", definition, valid_from=SEED_VALID_FROM)
    assign_plan(session, tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)
    return code


@pytest.fixture
def bundled(runtime, make_tenant):
    def make(wallet: int = 1_000_00, minutes_s: int = 120):
        tenant = make_tenant()
        with runtime.unit_of_work() as session:
            code = bundle_plan(session, tenant.tenant_id, minutes_s)
            if wallet:
                top_up(session, tenant.tenant_id, wallet)
        return tenant, code

    return make


def balances(sessions, tenant_id: str) -> dict[tuple[str, str], tuple[int, int]]:
    with sessions() as session:
        found = session.execute(
            select(BundleBalance).where(BundleBalance.tenant_id == tenant_id)
        ).scalars()
        return {
            (b.bundle, b.period_start.isoformat()): (b.units_granted, b.units_used) for b in found
        }


def test_a_call_past_the_bundle_is_split_and_keeps_its_draws(client, admin, bundled, sessions):
    tenant, _ = bundled()
    send(client, admin, [cdr(tenant.tenant_id) for _ in range(3)])
    first, second, third = rows(sessions, tenant.tenant_id)
    assert [(r.billed_units, r.bundle_units, r.net_minor) for r in (first, second, third)] == [
        (65, 65, 0), (65, 55, SPLIT_NET), (65, 0, NET),
    ]  # fmt: skip
    assert second.breakdown["note"] == "bundle"
    assert second.breakdown["bundle_draws"] == [
        {"bundle": "mobile-minutes", "period": "month", "period_start": "2026-03-01", "units": 55}
    ]
    assert third.breakdown["bundle_draws"] == []
    assert balances(sessions, tenant.tenant_id) == {
        ("mobile-minutes", "2026-03-01"): (120, 120),
        ("sms-100", "2026-03-01"): (100, 0),
    }
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - (SPLIT_NET + SPLIT_VAT) - (NET + VAT)


def test_each_period_has_its_own_balance_in_dar_es_salaam_days(client, admin, bundled, sessions):
    tenant, _ = bundled()
    last_of_march = "2026-03-31T23:50:00+03:00"  # 20:50 UTC: still March in Dar es Salaam
    first_of_april = "2026-04-01T00:05:00+03:00"  # 21:05 UTC on 31 March: April locally
    abroad = cdr(tenant.tenant_id, callee="+44 20 7946 0000")  # not in the mobile bundle
    send(
        client,
        admin,
        [
            cdr(tenant.tenant_id, started_at=last_of_march, answered_at=last_of_march),
            cdr(tenant.tenant_id, started_at=first_of_april, answered_at=first_of_april),
            abroad,
        ],
    )
    march, april, uk = rows(sessions, tenant.tenant_id)
    assert (march.bundle_units, april.bundle_units, uk.bundle_units) == (65, 65, 0)
    assert uk.net_minor > 0
    found = balances(sessions, tenant.tenant_id)
    assert found[("mobile-minutes", "2026-03-01")] == (120, 65)
    assert found[("mobile-minutes", "2026-04-01")] == (120, 65)


def test_an_undelivered_sms_draws_nothing(client, admin, bundled, sessions):
    tenant, _ = bundled()
    base = {
        "tenant_id": tenant.tenant_id,
        "channel": "sms",
        "recipient": "0754 000 222",
        "sent_at": "2026-03-02T09:00:00Z",
        "source_system": f"sms-{tenant.tenant_id}",
    }
    records = [
        {**base, "source_id": "sent", "segments": 3, "status": "accepted"},
        {**base, "source_id": "failed", "segments": 2, "status": "failed"},
    ]
    send(client, admin, records, path="/v1/usage/messages")
    sent, failed = rows(sessions, tenant.tenant_id)
    assert (sent.bundle_units, sent.net_minor) == (3, 0)
    assert (failed.bundle_units, failed.net_minor, failed.breakdown["note"]) == (
        0, 0, "not_delivered",
    )  # fmt: skip
    assert balances(sessions, tenant.tenant_id)[("sms-100", "2026-03-01")] == (100, 3)


def test_racing_rating_jobs_never_draw_a_bundle_twice(app, bundled, runtime, sessions):
    tenant, _ = bundled(wallet=100_000_00, minutes_s=1_000)
    answered = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)  # 09:00:05 in Dar es Salaam
    events = [
        UsageEvent("race-bundle", f"{tenant.tenant_id}-{n}", Service.VOICE, "255754000111",
                   "255712345678", answered, answered, None, 70, 65, Disposition.ANSWERED)
        for n in range(401)
    ]  # fmt: skip
    with runtime.unit_of_work() as session:  # stored pending, no job deferred
        stored = [{**event_row(e, tenant.tenant_id), "received_at": answered} for e in events]
        ids = sorted(insert_new(session, stored).values())
    with app.app_context():  # the first call makes the balance row: the rest race on it
        rate(ids[0], ids[0])
    ranges = [ids[n : n + 100] for n in range(1, 401, 100)]
    barrier = threading.Barrier(len(ranges))
    failures = []

    def work(part: list[int]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                rate(part[0], part[-1])
            except Exception as error:  # reported below, with the job that raised it
                failures.append(error)

    threads = [threading.Thread(target=work, args=(part,)) for part in ranges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rated = rows(sessions, tenant.tenant_id)
    assert {r.status for r in rated} == {"billed"} and len(rated) == 401
    assert sum(r.bundle_units for r in rated) == 1_000
    # 15 calls free, one split at 25 s, the rest charged, whichever job came first
    assert sorted(r.bundle_units for r in rated)[-16:] == [25] + [65] * 15
    assert balances(sessions, tenant.tenant_id)[("mobile-minutes", "2026-03-01")] == (1_000, 1_000)


def test_re_rating_gives_the_draws_back_and_draws_afresh(client, admin, bundled, runtime, sessions):
    tenant, code = bundled()
    send(client, admin, [cdr(tenant.tenant_id) for _ in range(3)])
    before = balance(sessions, tenant.tenant_id)
    with runtime.unit_of_work() as session:  # the bundle was meant to be 300 s: version 2
        bundle_plan(session, tenant.tenant_id, minutes_s=300, code=code)
    body = {"tenant_id": tenant.tenant_id, "start": "2026-03-01", "end": "2026-04-01"}
    answer = client.post("/v1/usage/rerate", json=body, headers=admin.headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["changed"] == 2  # the split call and the charged one
    current = [r for r in rows(sessions, tenant.tenant_id) if r.status != "superseded"]
    assert sorted(r.bundle_units for r in current) == [65, 65, 65]
    assert {r.net_minor for r in current} == {0}
    old = [r for r in rows(sessions, tenant.tenant_id) if r.status == "superseded"]
    assert sorted(r.bundle_units for r in old) == [0, 55]  # their figures untouched
    assert balances(sessions, tenant.tenant_id)[("mobile-minutes", "2026-03-01")] == (300, 195)
    assert balance(sessions, tenant.tenant_id) == before + SPLIT_NET + SPLIT_VAT + NET + VAT
    again = client.post("/v1/usage/rerate", json=body, headers=admin.headers).get_json()
    assert again["changed"] == 0
    assert balances(sessions, tenant.tenant_id)[("mobile-minutes", "2026-03-01")] == (300, 195)


def test_authorise_counts_what_is_left_of_the_bundle(client, admin, bundled, runtime):
    tenant, _ = bundled(wallet=0)
    now = datetime.now(UTC).isoformat()
    call = {"tenant_id": tenant.tenant_id, "service": "voice", "destination": "0712 345 678"}
    fresh = client.post("/v1/authorize", json=call, headers=admin.headers).get_json()
    assert (fresh["allowed"], fresh["max_seconds"], fresh["available"]) == (True, 120, 0)
    send(client, admin, [cdr(tenant.tenant_id, started_at=now, answered_at=now)])
    after = client.post("/v1/authorize", json=call, headers=admin.headers).get_json()
    # 55 s left, but the first block of a call is 60 s, and the wallet is empty
    assert (after["allowed"], after["reason"]) == (False, "insufficient_balance")
    shown = client.get("/v1/usage/bundles", headers=tenant.headers)
    assert shown.status_code == 200, shown.get_json()
    minutes = next(b for b in shown.get_json()["items"] if b["bundle"] == "mobile-minutes")
    assert (minutes["units_used"], minutes["units_remaining"]) == (65, 55)
    assert minutes["period"] == "month" and minutes["service"] == "voice"


def test_bundle_balances_are_the_tenants_own(client, admin, bundled, make_tenant):
    tenant, _ = bundled()
    other = make_tenant()
    at = {"at": "2026-03-02T09:00:00+03:00"}
    mine = client.get("/v1/usage/bundles", query_string=at, headers=tenant.headers).get_json()
    assert [b["bundle"] for b in mine["items"]] == ["mobile-minutes", "sms-100"]
    assert mine["items"][0]["period_start"] == "2026-03-01"
    peek = {**at, "tenant_id": tenant.tenant_id}
    assert (
        client.get("/v1/usage/bundles", query_string=peek, headers=other.headers).status_code == 404
    )
    staff = client.get("/v1/usage/bundles", query_string=peek, headers=admin.headers)
    assert staff.get_json()["items"] == mine["items"]
    assert client.get("/v1/usage/bundles", headers=admin.headers).status_code == 403
    assert client.get("/v1/usage/bundles", headers=other.headers).get_json()["items"] == []
    bad = client.get("/v1/usage/bundles", query_string={"at": "soon"}, headers=tenant.headers)
    assert bad.status_code == 422 and "at" in str(bad.get_json()["errors"])


def test_bundles_on_the_sqlite_default(tmp_path):
    from billing import create_app
    from billing.auth.models import Role
    from billing.auth.service import create_staff
    from billing.core.config import Settings
    from billing.core.money import Currency
    from billing.runtime import EXTENSION
    from billing.schema import upgrade
    from billing.tenants.models import BillingMode
    from billing.tenants.service import NewTenant, create_tenant

    url = f"sqlite:///{tmp_path / 'bundles.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, testing=True, secret_key="t"))
    runtime = app.extensions[EXTENSION]
    with runtime.unit_of_work() as session:
        _user, key = create_staff(session, email="a@malipo.test", role=Role.ADMIN)
        tenant = create_tenant(
            session,
            NewTenant("Lite", "l@lite.tz", "255655123456", BillingMode.PREPAID, Currency.TZS),
        )
        bundle_plan(session, tenant.id)
    staff = {"Authorization": f"Bearer {key}"}
    client = app.test_client()
    now = datetime.now(UTC).isoformat()
    records = [cdr(tenant.id, started_at=now, answered_at=now)]
    sent = client.post("/v1/usage/cdrs", json={"records": records}, headers=staff)
    assert sent.status_code == 200, sent.get_json()
    call = {"tenant_id": tenant.id, "service": "voice", "destination": "0712 345 678"}
    answer = client.post("/v1/authorize", json=call, headers=staff).get_json()
    assert (answer["allowed"], answer["reason"]) == (False, "insufficient_balance")  # 55 s left
    shown = client.get("/v1/usage/bundles", query_string={"tenant_id": tenant.id}, headers=staff)
    assert [(b["units_used"], b["units_remaining"]) for b in shown.get_json()["items"]] == [
        (65, 55), (0, 100),
    ]  # fmt: skip
