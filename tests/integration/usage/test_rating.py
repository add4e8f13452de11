"""The rating job: prices, prepaid debits with VAT, postpaid accrual, rejects retried."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from billing.events.models import PlatformEvent
from billing.ledger.balances import account_balance
from billing.ledger.models import Entry, Transaction
from billing.ledger.postings import USAGE_REVENUE, VAT_ON_PREPAYMENTS, WALLET
from billing.tenants.models import BillingMode
from billing.usage.debits import vat_on
from billing.usage.jobs import rate
from billing.usage.models import TenantUsageFlag
from billing.usage.retries import retry_waiting
from tests.factories import on_default_plan, top_up
from tests.integration.usage.conftest import cdr, rows, send

pytestmark = pytest.mark.integration

NET = 75_83  # 65 s at TZS 70/min, 60/1 increments: 70 x 65 / 60 = 75.8333 -> 75.83
VAT = 13_65  # 18% of 75.83 = 13.6494 -> 13.65


def balance(sessions, tenant_id: str, kind: str = WALLET) -> int:
    with sessions() as session:
        return account_balance(session, tenant_id, kind, "TZS").balance_minor


def test_vat_is_per_record_half_up():
    assert (vat_on(NET), vat_on(0), vat_on(1), vat_on(3), vat_on(-NET)) == (VAT, 0, 0, 1, -VAT)


def test_a_prepaid_call_debits_the_wallet_gross_in_one_transaction(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    unanswered = cdr(tenant.tenant_id, answered_at=None, billsec_s=0, disposition="NO ANSWER")
    send(client, admin, [cdr(tenant.tenant_id), cdr(tenant.tenant_id), unanswered])
    first, second, free = rows(sessions, tenant.tenant_id)
    assert (first.status, first.zone, first.band, first.billed_units, first.unit) == (
        "billed", "TZ-MOB-YAS", "peak", 65, "second",
    )  # fmt: skip
    assert (first.net_minor, first.vat_minor, first.currency) == (NET, VAT, "TZS")
    assert first.raw_amount.startswith("75.8333")
    assert first.breakdown["pieces"] and first.breakdown["rate_unit_s"] == 60
    assert first.plan_id and first.plan_version == 1
    assert first.ledger_transaction_id == second.ledger_transaction_id is not None
    assert (free.status, free.net_minor, free.ledger_transaction_id) == ("billed", 0, None)
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - 2 * (NET + VAT)
    assert balance(sessions, tenant.tenant_id, USAGE_REVENUE) == 2 * NET
    assert balance(sessions, tenant.tenant_id, VAT_ON_PREPAYMENTS) == 2 * VAT
    with sessions() as session:
        entry = session.get(Entry, first.ledger_entry_id)
        assert (entry.transaction_id, entry.amount_minor) == (
            first.ledger_transaction_id,
            -2 * (NET + VAT),
        )


def test_postpaid_usage_accrues_net_and_touches_no_ledger(client, admin, rated_tenant, sessions):
    tenant = rated_tenant(balance=0, billing_mode=BillingMode.POSTPAID)
    send(client, admin, [cdr(tenant.tenant_id)])
    [row] = rows(sessions, tenant.tenant_id)
    assert (row.status, row.net_minor, row.vat_minor, row.ledger_transaction_id) == (
        "accrued", NET, None, None,
    )  # fmt: skip
    with sessions() as session:
        posted = session.execute(
            select(func.count()).where(Transaction.tenant_id == tenant.tenant_id)
        ).scalar()
    assert posted == 0


def test_the_rating_job_run_twice_rates_once(client, admin, rated_tenant, sessions, app):
    tenant = rated_tenant()
    send(client, admin, [cdr(tenant.tenant_id)])
    [row] = rows(sessions, tenant.tenant_id)
    with app.app_context():
        assert rate(row.id, row.id) == 0  # already rated: nothing to do
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - (NET + VAT)


def test_a_record_without_plan_is_kept_and_rated_once_the_plan_exists(
    client, admin, make_tenant, runtime, sessions
):
    tenant = make_tenant()
    with runtime.unit_of_work() as session:
        top_up(session, tenant.tenant_id, 1_000_00)
    nowhere = cdr(tenant.tenant_id, callee="+8 123")  # no number the plan could price
    send(client, admin, [cdr(tenant.tenant_id), nowhere])
    assert [(r.status, r.reason) for r in rows(sessions, tenant.tenant_id)] == [
        ("rejected", "no_plan"),
        ("rejected", "no_plan"),
    ]
    with runtime.unit_of_work() as session:
        on_default_plan(session, tenant.tenant_id)
    response = client.post(
        "/v1/usage/retry", json={"tenant_id": tenant.tenant_id}, headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()
    called, short = rows(sessions, tenant.tenant_id)
    assert (called.status, called.net_minor) == ("billed", NET)
    assert (short.status, short.reason) == ("rejected", "short_number")
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - (NET + VAT)


def test_a_record_for_an_unknown_tenant_rates_once_it_exists(client, admin, sessions, runtime):
    from billing.core.money import Currency
    from billing.tenants.models import Tenant

    tenant_id = "ten_LATE" + __import__("uuid").uuid4().hex[:12].upper()
    send(client, admin, [cdr(tenant_id)])
    assert [(r.status, r.reason) for r in rows(sessions, tenant_id)] == [
        ("rejected", "unknown_tenant")
    ]
    with runtime.unit_of_work() as session:
        session.add(
            Tenant(
                id=tenant_id,
                name="Late Ltd",
                email="a@b.tz",
                msisdn="255754000999",
                billing_mode=BillingMode.POSTPAID,
                currency=Currency.TZS,
            )
        )
        session.flush()
        on_default_plan(session, tenant_id)
    with runtime.unit_of_work() as session:
        retry_waiting(session, tenant_id)
    assert [(r.status, r.net_minor) for r in rows(sessions, tenant_id)] == [("accrued", NET)]


def test_an_exhausted_wallet_is_never_overdrawn(client, admin, rated_tenant, sessions, runtime):
    tenant = rated_tenant(balance=NET + VAT + 50_00)  # one call and a bit
    send(client, admin, [cdr(tenant.tenant_id) for _ in range(3)])
    statuses = [(r.status, r.reason) for r in rows(sessions, tenant.tenant_id)]
    assert statuses == [
        ("billed", None),
        ("unbilled", "insufficient_balance"),
        ("unbilled", "insufficient_balance"),
    ]
    assert balance(sessions, tenant.tenant_id) == 50_00
    with sessions() as session:
        flag = session.get(TenantUsageFlag, tenant.tenant_id)
        assert flag is not None and flag.unbilled_records == 2
        events = session.execute(
            select(PlatformEvent.type, PlatformEvent.data).where(
                PlatformEvent.tenant_id == tenant.tenant_id
            )
        ).all()
    assert [e.type for e in events] == ["usage.insufficient_balance"]
    assert events[0].data["unbilled_records"] == 2

    # More usage while flagged: still unbilled, and no second event.
    send(client, admin, [cdr(tenant.tenant_id)])
    with sessions() as session:
        assert session.get(TenantUsageFlag, tenant.tenant_id).unbilled_records == 3
        count = session.execute(
            select(func.count()).where(PlatformEvent.tenant_id == tenant.tenant_id)
        ).scalar()
    assert count == 1

    # A top-up, then the retry: everything billed, the flag cleared.
    with runtime.unit_of_work() as session:
        top_up(session, tenant.tenant_id, 1_000_00)
    with runtime.unit_of_work() as session:
        assert retry_waiting(session, tenant.tenant_id) == {"unbilled→billed": 3}
    assert {r.status for r in rows(sessions, tenant.tenant_id)} == {"billed"}
    assert balance(sessions, tenant.tenant_id) == 50_00 + 1_000_00 - 3 * (NET + VAT)
    with sessions() as session:
        assert session.get(TenantUsageFlag, tenant.tenant_id) is None
    with runtime.unit_of_work() as session:
        assert retry_waiting(session, tenant.tenant_id) == {}


def test_messages_are_priced_per_segment_and_undelivered_ones_are_free(
    client, admin, rated_tenant, sessions
):
    tenant = rated_tenant()
    base = {
        "tenant_id": tenant.tenant_id,
        "channel": "sms",
        "recipient": "0754 000 222",
        "sent_at": "2026-03-02T09:00:00Z",
    }
    records = [
        {**base, "source_id": "m1", "body": "Habari " * 30, "status": "accepted"},  # 210: 2
        {**base, "source_id": "m2", "segments": 1, "status": "failed"},
        {
            **base,
            "source_id": "w1",
            "channel": "whatsapp",
            "category": "marketing",
            "status": "delivered",
        },
    ]
    records = [{**r, "source_system": f"sms-{tenant.tenant_id}"} for r in records]
    send(client, admin, records, "/v1/usage/messages")
    sms, failed, whatsapp = rows(sessions, tenant.tenant_id)
    assert (sms.zone, sms.billed_units, sms.unit, sms.net_minor) == (
        "TZ-MOB-VODACOM", 2, "segment", 44_00,
    )  # fmt: skip
    assert (failed.status, failed.net_minor, failed.breakdown["note"]) == (
        "billed", 0, "not_delivered",
    )  # fmt: skip
    assert (whatsapp.unit, whatsapp.net_minor) == ("message", 55_13)


def test_two_rating_jobs_racing_over_the_same_rows_debit_each_once(
    app, rated_tenant, runtime, sessions
):
    import threading
    from datetime import UTC, datetime

    from billing.rating.plans import Service
    from billing.usage.events import Disposition, UsageEvent
    from billing.usage.intake import event_row, insert_new

    tenant = rated_tenant(balance=100_000_00)
    answered = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)  # 09:00:05 in Dar es Salaam
    events = [
        UsageEvent("race", f"{tenant.tenant_id}-{n}", Service.VOICE, "255754000111",
                   "255712345678", answered, answered, None, 70, 65, Disposition.ANSWERED)
        for n in range(400)
    ]  # fmt: skip
    with runtime.unit_of_work() as session:  # stored pending, no job deferred
        stored_rows = [{**event_row(e, tenant.tenant_id), "received_at": answered} for e in events]
        ids = sorted(insert_new(session, stored_rows).values())

    def work():
        with app.app_context():
            rate(ids[0], ids[-1])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = rows(sessions, tenant.tenant_id)
    assert {r.status for r in stored} == {"billed"} and len(stored) == 400
    assert balance(sessions, tenant.tenant_id) == 100_000_00 - 400 * (NET + VAT)
    with sessions() as session:
        debits = session.execute(
            select(func.count()).where(
                Transaction.tenant_id == tenant.tenant_id, Transaction.kind == "usage"
            )
        ).scalar()
    assert debits == len({r.ledger_transaction_id for r in stored}) <= 3


def test_a_record_left_pending_is_rated_by_the_retry(rated_tenant, runtime, sessions):
    from datetime import UTC, datetime

    from billing.rating.plans import Service
    from billing.usage.events import Disposition, UsageEvent
    from billing.usage.intake import event_row, insert_new
    from billing.usage.models import UsageRecord

    tenant = rated_tenant()
    with runtime.unit_of_work() as session:  # stored long ago, as if its job had given up
        at = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)
        event = UsageEvent("stale", tenant.tenant_id, Service.VOICE, "", "255712345678", at,
                           at, None, 70, 65, Disposition.ANSWERED)  # fmt: skip
        [usage_id] = insert_new(
            session, [{**event_row(event, tenant.tenant_id), "received_at": at}]
        ).values()
    with runtime.unit_of_work() as session:
        assert retry_waiting(session, tenant.tenant_id) == {"pending→billed": 1}
    with sessions() as session:
        assert session.get(UsageRecord, usage_id).net_minor == NET


def test_a_usd_plan_is_charged_in_shillings_at_the_days_rate_kept_on_the_row(
    client, admin, make_tenant, runtime, sessions
):
    import copy
    import uuid
    from datetime import date
    from decimal import Decimal

    from billing.core.money import Currency
    from billing.tariffs import fx
    from billing.tariffs.rate_plans import assign_plan, save_plan
    from billing.tariffs.seed import SEED_VALID_FROM, default_plan_definition, seed_destinations

    tenant = make_tenant()
    usd = copy.deepcopy(default_plan_definition())
    usd["currency"] = Currency.USD
    for entry in usd["duration_rates"]:
        if entry["zone"] == "TZ-MOB-YAS":
            entry["rate"] = Decimal("0.03")
    with runtime.unit_of_work() as session:
        seed_destinations(session)
        saved = save_plan(session, f"USD-{uuid.uuid4().hex[:8]}", "usd", usd, SEED_VALID_FROM)
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=SEED_VALID_FROM)
        top_up(session, tenant.tenant_id, 1_000_00)
    call = cdr(tenant.tenant_id, started_at="2029-07-02T09:00:00+03:00",
               answered_at="2029-07-02T09:00:05+03:00")  # fmt: skip
    send(client, admin, [call])
    [row] = rows(sessions, tenant.tenant_id)
    assert (row.status, row.reason) == ("rejected", "no_fx_rate")

    with runtime.unit_of_work() as session:
        fx.record_rate(
            session, date(2029, 7, 2), Currency.USD, Currency.TZS, Decimal("2450"), "BoT mean"
        )
    with runtime.unit_of_work() as session:
        retry_waiting(session, tenant.tenant_id)
    [row] = rows(sessions, tenant.tenant_id)
    # $0.03/min x 65 s = $0.0325 = TZS 79.625 -> 79.63 (rounded once, after converting)
    assert (row.status, row.currency, row.net_minor, row.fx_rate) == (
        "billed", "TZS", 79_63, Decimal("2450"),
    )  # fmt: skip
    assert row.vat_minor == vat_on(79_63)
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - 79_63 - vat_on(79_63)


def test_free_whatsapp_types_are_kept_at_nothing(client, admin, rated_tenant, sessions):
    tenant = rated_tenant()
    base = {
        "tenant_id": tenant.tenant_id,
        "source_system": f"wa-{tenant.tenant_id}",
        "channel": "whatsapp",
        "recipient": "255754000222",
        "sent_at": "2026-03-02T09:00:00Z",
        "status": "delivered",
    }
    send(
        client,
        admin,
        [
            {**base, "source_id": "wamid.1", "category": "utility",
             "pricing_type": "free_customer_service"},
            {**base, "source_id": "wamid.2", "category": "utility"},
            {**base, "source_id": "wamid.3", "category": "marketing", "status": "sent"},
        ],
        "/v1/usage/messages",
    )  # fmt: skip
    free, utility, undelivered = rows(sessions, tenant.tenant_id)
    assert (free.status, free.net_minor, free.breakdown["note"]) == ("billed", 0, "free_type")
    assert (utility.net_minor, utility.zone) == (9_80, "TZ-MOB-VODACOM")
    assert (undelivered.net_minor, undelivered.delivery_status) == (0, "sent")
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - 9_80 - vat_on(9_80)


def test_whatsapp_service_messages_are_charged_from_october_2026(
    client, admin, rated_tenant, runtime, sessions
):
    """reference/usage.md §3: service messages free until 30 Sep 2026, then charged as
    utility; on a plan that prices no service message, at its utility rate (not no_rate)."""
    from datetime import UTC, datetime

    from billing.tariffs.rate_plans import assign_plan, save_plan
    from billing.tariffs.seed import default_plan_definition

    seeded, utility_only = rated_tenant(), rated_tenant()
    with runtime.unit_of_work() as session:
        definition = default_plan_definition()
        definition["whatsapp_rates"] = [
            r for r in definition["whatsapp_rates"] if r["category"] != "service"
        ]
        saved = save_plan(session, "TZ-NO-SERVICE", "no service price", definition,
                          valid_from=datetime(2020, 1, 1, tzinfo=UTC))  # fmt: skip
        assign_plan(session, utility_only.tenant_id, saved.plan.id,
                    valid_from=datetime(2020, 1, 2, tzinfo=UTC))  # fmt: skip
    for tenant in (seeded, utility_only):
        base = {
            "tenant_id": tenant.tenant_id, "source_system": f"wa-{tenant.tenant_id}",
            "channel": "whatsapp", "recipient": "255754000222", "category": "service",
            "status": "delivered",
        }  # fmt: skip
        send(client, admin, [
            {**base, "source_id": "svc.sep", "sent_at": "2026-09-30T20:59:59Z"},
            {**base, "source_id": "svc.oct", "sent_at": "2026-10-01T00:00:00Z"},
        ], "/v1/usage/messages")  # fmt: skip
        september, october = rows(sessions, tenant.tenant_id)
        assert (september.status, september.net_minor, september.breakdown["note"]) == (
            "billed", 0, "service_free_until_2026_10",
        )  # fmt: skip
        assert (october.status, october.net_minor) == ("billed", 9_80)
        assert balance(sessions, tenant.tenant_id) == 1_000_00 - 9_80 - vat_on(9_80)
