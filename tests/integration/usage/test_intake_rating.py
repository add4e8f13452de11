"""Intake rates and debits a record before storing it: one write, nothing left pending."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from billing.jobs.models import OutboxMessage
from billing.ledger.models import Transaction
from billing.rating.plans import Service
from billing.tenants.models import BillingMode
from billing.usage.events import Disposition, UsageEvent
from billing.usage.intake import event_row, store
from tests.integration.usage.conftest import rows
from tests.integration.usage.test_rating import NET, VAT, balance

pytestmark = pytest.mark.integration
ANSWERED = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)  # 09:00:05 in Dar es Salaam


def call_rows(tenant_id: str, count: int, system: str = "intake") -> list[dict]:
    events = [
        UsageEvent(system, f"{tenant_id}-{n}", Service.VOICE, "255754000111", "255712345678",
                   ANSWERED, ANSWERED, None, 70, 65, Disposition.ANSWERED)
        for n in range(count)
    ]  # fmt: skip
    return [event_row(event, tenant_id) for event in events]


def debits(sessions, tenant_id: str) -> int:
    with sessions() as session:
        return session.execute(
            select(func.count()).where(
                Transaction.tenant_id == tenant_id, Transaction.kind == "usage"
            )
        ).scalar()


def test_a_stored_record_is_already_rated_and_no_rating_job_is_asked_for(
    rated_tenant, runtime, sessions
):
    tenant = rated_tenant()
    stranger = {**call_rows("ten_NOBODY", 1)[0], "source_id": "stranger"}
    with runtime.unit_of_work() as session:
        jobs_before = session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
        outcomes = store(session, [*call_rows(tenant.tenant_id, 3), stranger])
        jobs_after = session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
    assert [o.status for o in outcomes] == ["accepted"] * 3 + ["rejected"]
    assert jobs_after == jobs_before
    stored = rows(sessions, tenant.tenant_id)
    assert [(r.status, r.net_minor, r.vat_minor) for r in stored] == [("billed", NET, VAT)] * 3
    assert len({r.ledger_transaction_id for r in stored}) == 1  # one debit for the batch
    assert [o.usage_id for o in outcomes[:3]] == [r.id for r in stored]
    assert balance(sessions, tenant.tenant_id) == 1_000_00 - 3 * (NET + VAT)


def test_a_batch_racing_another_over_the_same_keys_debits_them_once(
    rated_tenant, runtime, sessions, monkeypatch
):
    import billing.usage.rated_insert as rated_insert

    attempts = []
    once = rated_insert._rate_and_insert_once

    def counted(session, rows, *args):
        attempts.append(len(rows))
        return once(session, rows, *args)

    monkeypatch.setattr(rated_insert, "_rate_and_insert_once", counted)
    tenant = rated_tenant(balance=100_000_00)
    batch = call_rows(tenant.tenant_id, 50, system="race")
    first_stored, second_done = threading.Event(), []

    def second():
        first_stored.wait()
        with runtime.unit_of_work() as session:  # waits for the first's wallet lock
            second_done.append(store(session, [dict(row) for row in batch]))

    thread = threading.Thread(target=second)
    thread.start()
    with runtime.unit_of_work() as session:
        first = store(session, [dict(row) for row in batch])
        first_stored.set()
        thread.join(timeout=1)  # the second is blocked until we commit
        assert thread.is_alive()
    thread.join(timeout=30)
    assert {o.status for o in first} == {"accepted"}
    assert {o.status for o in second_done[0]} == {"duplicate"}
    assert len(attempts) == 3  # the second batch raced, was undone, and ran again
    stored = rows(sessions, tenant.tenant_id)
    assert len(stored) == 50 and {r.status for r in stored} == {"billed"}
    assert debits(sessions, tenant.tenant_id) == 1
    assert balance(sessions, tenant.tenant_id) == 100_000_00 - 50 * (NET + VAT)


def attempts_counted(monkeypatch) -> list[bool]:
    """Record whether each attempt of `_rate_and_insert_once` looked every key up."""
    import billing.usage.rated_insert as rated_insert

    attempts: list[bool] = []
    once = rated_insert._rate_and_insert_once

    def counted(session, rows, checked=True, *args):
        attempts.append(checked)
        return once(session, rows, checked, *args)

    monkeypatch.setattr(rated_insert, "_rate_and_insert_once", counted)
    return attempts


def test_a_resent_batch_is_found_by_the_probe_without_a_redo(
    rated_tenant, runtime, sessions, monkeypatch
):
    tenant = rated_tenant(balance=100_000_00)
    batch = call_rows(tenant.tenant_id, 200, system="probe")
    with runtime.unit_of_work() as session:
        store(session, [dict(row) for row in batch])
    attempts = attempts_counted(monkeypatch)
    with runtime.unit_of_work() as session:
        again = store(session, [dict(row) for row in batch])
    assert {o.status for o in again} == {"duplicate"}
    assert attempts == [False]  # the probe found stored keys; every key then looked up
    assert debits(sessions, tenant.tenant_id) == 1


def test_a_stored_key_the_probe_missed_fails_the_copy_and_the_batch_is_redone_once(
    rated_tenant, runtime, sessions, monkeypatch
):
    tenant = rated_tenant(balance=100_000_00)
    batch = call_rows(tenant.tenant_id, 200, system="missed")
    with runtime.unit_of_work() as session:  # one key of the batch, not one the probe reads
        store(session, [dict(batch[101])])
    attempts = attempts_counted(monkeypatch)
    with runtime.unit_of_work() as session:
        outcomes = store(session, [dict(row) for row in batch])
    assert [o.status for o in outcomes] == ["accepted"] * 101 + ["duplicate"] + ["accepted"] * 98
    assert attempts == [False, True]  # the optimistic COPY failed, undone, redone checked
    stored = rows(sessions, tenant.tenant_id)
    assert len(stored) == 200 and {r.status for r in stored} == {"billed"}
    assert debits(sessions, tenant.tenant_id) == 2  # the single row's, then the 199's
    assert balance(sessions, tenant.tenant_id) == 100_000_00 - 200 * (NET + VAT)


def test_when_rating_at_intake_fails_the_records_are_stored_pending_for_the_job(
    app, rated_tenant, runtime, sessions, monkeypatch
):
    import billing.usage.intake as intake
    import billing.usage.rated_insert as rated_insert

    def broken(*args, **kwargs):
        raise RuntimeError("tariff store unreachable")

    monkeypatch.setattr(rated_insert, "rate_rows", broken)
    tenant = rated_tenant()
    with app.app_context(), runtime.unit_of_work() as session:
        outcomes = intake.store(session, call_rows(tenant.tenant_id, 2, system="fallback"))
        jobs = session.execute(
            select(OutboxMessage.job, OutboxMessage.args).order_by(OutboxMessage.id.desc())
        ).first()
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    assert jobs.job == "usage.rate" and jobs.args == [o.usage_id for o in outcomes]
    # The job (run in process once the intake commits) rates them as usual.
    stored = rows(sessions, tenant.tenant_id)
    assert [(r.status, r.net_minor) for r in stored] == [("billed", NET)] * 2


def test_a_batch_of_several_tenants_settles_each_on_its_own_wallet(rated_tenant, runtime, sessions):
    """The batch's wallets are locked and debited together: each tenant's rows point at
    its own transaction and wallet entry; a short wallet leaves only its rows unbilled."""
    from billing.ledger.integrity import find_discrepancies
    from billing.ledger.models import Account, Entry
    from billing.usage.flags import is_flagged

    rich, short = rated_tenant(balance=100_000_00), rated_tenant(balance=2 * (NET + VAT))
    postpaid = rated_tenant(balance=0, billing_mode=BillingMode.POSTPAID)
    batch = [row for n in range(3) for tenant in (rich, short, postpaid)
             for row in call_rows(tenant.tenant_id, 1, system=f"many-{n}")]  # fmt: skip
    with runtime.unit_of_work() as session:
        outcomes = store(session, batch)
    assert {o.status for o in outcomes} == {"accepted"}
    with sessions() as session:
        for tenant, statuses in ((rich, ["billed"] * 3), (short, ["billed"] * 2 + ["unbilled"]),
                                 (postpaid, ["accrued"] * 3)):  # fmt: skip
            stored = rows(sessions, tenant.tenant_id)
            assert sorted(r.status for r in stored) == statuses
            for row in stored:
                if row.status != "billed":
                    assert row.ledger_transaction_id is None
                    continue
                entry = session.get(Entry, row.ledger_entry_id)
                account = session.get(Account, entry.account_id)
                assert entry.transaction_id == row.ledger_transaction_id
                assert (account.tenant_id, account.kind) == (tenant.tenant_id, "wallet")
            assert find_discrepancies(session, tenant.tenant_id) == []
        assert (is_flagged(session, short.tenant_id), is_flagged(session, rich.tenant_id)) == (
            True, False)  # fmt: skip
    assert balance(sessions, short.tenant_id) == 0
    assert balance(sessions, rich.tenant_id) == 100_000_00 - 3 * (NET + VAT)
    assert debits(sessions, rich.tenant_id) == debits(sessions, short.tenant_id) == 1
