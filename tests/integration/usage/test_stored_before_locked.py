"""New rows are stored before their wallets are locked (migration 0034): a batch's COPY
no longer waits for another batch of the same tenant, and a wallet that moves between
the unlocked forecast and its lock still settles each row as the wallet could pay it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

import billing.usage.rating as rating
from billing.ledger.integrity import find_discrepancies
from billing.ledger.models import Entry
from billing.usage.flags import is_flagged
from billing.usage.intake import store
from tests.factories import charge, top_up
from tests.integration.usage.conftest import rows
from tests.integration.usage.test_intake_rating import call_rows, debits
from tests.integration.usage.test_rating import NET, VAT, balance
from tests.locks import waiting_on_a_lock
from tests.polling import eventually

pytestmark = pytest.mark.integration
GROSS = NET + VAT


def _usage_written_by_lock_waiter(sessions) -> bool:
    """Whether the backend waiting on a wallet has written into usage_records already."""
    with sessions() as session:
        return (
            session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
                    " JOIN pg_class c ON c.oid = l.relation"
                    " WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"
                    " AND position('ledger_accounts' in a.query) > 0"
                    " AND c.relname LIKE 'usage_records%' AND c.relkind IN ('r', 'p')"
                    " AND l.mode = 'RowExclusiveLock'"
                )
            ).scalar_one()
            > 0
        )


def test_a_batch_is_stored_while_another_transaction_holds_its_wallet(
    rated_tenant, runtime, sessions
):
    tenant = rated_tenant(balance=100_000_00)
    done: list = []
    holder = sessions()
    holder.execute(
        text("SELECT id FROM ledger_accounts WHERE tenant_id = :t AND kind = 'wallet' FOR UPDATE"),
        {"t": tenant.tenant_id},
    )

    def batch() -> None:
        with runtime.unit_of_work() as session:
            done.append(store(session, call_rows(tenant.tenant_id, 40, system="beside")))

    thread = threading.Thread(target=batch)
    thread.start()
    try:
        assert eventually(lambda: waiting_on_a_lock(sessions, "ledger_accounts"))
        # It waits for the wallet with its rows written: the COPY did not wait.
        assert _usage_written_by_lock_waiter(sessions)
        assert thread.is_alive()
    finally:
        holder.rollback()
        holder.close()
        thread.join(timeout=30)
    assert {o.status for o in done[0]} == {"accepted"}
    stored = rows(sessions, tenant.tenant_id)
    assert [r.status for r in stored] == ["billed"] * 40
    assert balance(sessions, tenant.tenant_id) == 100_000_00 - 40 * GROSS


def _moved_after_the_forecast(monkeypatch, runtime, move) -> list:
    """Run `move` (committed on its own) right after each forecast; the forecasts."""
    forecasts = []
    forecast = rating.forecast_prepaid_each

    def then_moved(session, tenants, by_tenant):
        made = forecast(session, tenants, by_tenant)
        forecasts.append(made)
        with runtime.unit_of_work() as elsewhere:
            move(elsewhere)
        return made

    monkeypatch.setattr(rating, "forecast_prepaid_each", then_moved)
    return forecasts


def test_a_wallet_spent_between_the_forecast_and_its_lock_leaves_what_it_cannot_pay_unbilled(
    rated_tenant, runtime, sessions, monkeypatch
):
    tenant = rated_tenant(balance=10 * GROSS)
    forecasts = _moved_after_the_forecast(
        monkeypatch, runtime, lambda s: charge(s, tenant.tenant_id, 7 * GROSS)
    )
    with runtime.unit_of_work() as session:
        outcomes = store(session, call_rows(tenant.tenant_id, 5, system="spent"))
    assert {o.status for o in outcomes} == {"accepted"}
    (foreseen,) = forecasts[0].settlements
    assert len(foreseen.paid) == 5  # the forecast saw ten calls' worth: the move landed after
    # The answer says what the debit settled, not what the forecast said.
    assert [(o.usage_status, o.reason) for o in outcomes] == [("billed", None)] * 3 + [
        ("unbilled", "insufficient_balance")] * 2  # fmt: skip
    stored = rows(sessions, tenant.tenant_id)
    assert [r.status for r in stored] == ["billed"] * 3 + ["unbilled"] * 2
    for row in stored[3:]:
        assert (row.reason, row.ledger_transaction_id, row.ledger_entry_id) == (
            "insufficient_balance", None, None)  # fmt: skip
    with sessions() as session:
        for row in stored[:3]:  # the ids taken ahead are the debit's own
            entry = session.get(Entry, row.ledger_entry_id)
            assert entry.transaction_id == row.ledger_transaction_id
            assert entry.amount_minor == -3 * GROSS
        assert find_discrepancies(session, tenant.tenant_id) == []
        assert is_flagged(session, tenant.tenant_id)
    assert balance(sessions, tenant.tenant_id) == 0
    assert debits(sessions, tenant.tenant_id) == 2  # the move's, and the batch's for three


def test_a_wallet_topped_up_between_the_forecast_and_its_lock_pays_for_every_row(
    rated_tenant, runtime, sessions, monkeypatch
):
    tenant = rated_tenant(balance=0)
    forecasts = _moved_after_the_forecast(
        monkeypatch, runtime, lambda s: top_up(s, tenant.tenant_id, 10 * GROSS)
    )
    with runtime.unit_of_work() as session:
        outcomes = store(session, call_rows(tenant.tenant_id, 4, system="topped"))
    (foreseen,) = forecasts[0].settlements
    assert (foreseen.paid, foreseen.transaction_id) == (frozenset(), None)  # all unbilled
    assert [(o.usage_status, o.reason) for o in outcomes] == [("billed", None)] * 4
    stored = rows(sessions, tenant.tenant_id)
    assert [(r.status, r.reason) for r in stored] == [("billed", None)] * 4
    with sessions() as session:
        (entry_id,) = {r.ledger_entry_id for r in stored}
        entry = session.get(Entry, entry_id)
        assert entry.transaction_id == stored[0].ledger_transaction_id
        assert entry.amount_minor == -4 * GROSS
        assert find_discrepancies(session, tenant.tenant_id) == []
        assert not is_flagged(session, tenant.tenant_id)
    assert balance(sessions, tenant.tenant_id) == 6 * GROSS


def test_batches_racing_top_ups_and_each_other_leave_every_row_as_its_wallet_paid(
    rated_tenant, runtime, sessions, monkeypatch
):
    """Four threads store batches of the same three short wallets while another tops
    them up: forecasts go stale both ways, and still every billed row points at its own
    debit's wallet entry, every other row at none, and each wallet holds its top-ups less
    the billed rows, never below zero."""
    tenants = [rated_tenant(balance=6 * GROSS) for _ in range(3)]
    errors: list[BaseException] = []
    answered: list = []
    mended: list[int] = []
    settle = rating.settle_as_forecast

    def counted(session, by_tenant, forecast, *, key):
        settled, missed = settle(session, by_tenant, forecast, key=key)
        mended.append(len(missed))
        return settled, missed

    monkeypatch.setattr(rating, "settle_as_forecast", counted)

    def batches(worker: int) -> None:
        try:
            for n in range(6):
                batch = [row for tenant in tenants for row in
                         call_rows(tenant.tenant_id, 3, system=f"race-{worker}-{n}")]  # fmt: skip
                with runtime.unit_of_work() as session:
                    answered.extend(store(session, batch))
        except BaseException as error:
            errors.append(error)

    def top_ups() -> None:
        for _ in range(6):
            for tenant in tenants:
                with runtime.unit_of_work() as session:
                    top_up(session, tenant.tenant_id, 4 * GROSS)

    threads = [threading.Thread(target=batches, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=top_ups))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    statuses, as_stored = set(), {}
    with sessions() as session:
        for tenant in tenants:
            stored = rows(sessions, tenant.tenant_id)
            as_stored |= {r.id: r.status for r in stored}
            assert len(stored) == 4 * 6 * 3
            statuses |= {r.status for r in stored}
            billed = [r for r in stored if r.status == "billed"]
            for row in stored:
                if row.status != "billed":
                    assert (row.status, row.reason, row.ledger_entry_id) == (
                        "unbilled", "insufficient_balance", None)  # fmt: skip
                    continue
                entry = session.get(Entry, row.ledger_entry_id)
                assert entry.transaction_id == row.ledger_transaction_id
            for transaction_id in {r.ledger_transaction_id for r in billed}:
                entry = session.execute(
                    text("SELECT amount_minor FROM ledger_entries e JOIN ledger_accounts a"
                         " ON a.id = e.account_id WHERE e.transaction_id = :t"
                         " AND a.kind = 'wallet'"), {"t": transaction_id}
                ).scalar_one()  # fmt: skip
                paid = sum(1 for r in billed if r.ledger_transaction_id == transaction_id)
                assert entry == -paid * GROSS  # the debit is exactly its rows
            assert find_discrepancies(session, tenant.tenant_id) == []
            left = balance(sessions, tenant.tenant_id)
            assert left == 6 * GROSS + 6 * 4 * GROSS - len(billed) * GROSS
            assert left >= 0
    assert statuses == {"billed", "unbilled"}  # the wallets did run short
    assert len(mended) == 4 * 6 and sum(mended) > 0  # and forecasts went stale
    assert {o.usage_id: o.usage_status for o in answered} == as_stored  # answered as stored
