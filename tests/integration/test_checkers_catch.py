"""The checkers the suite leans on, shown catching what they exist to catch: a planted
ledger discrepancy is found, and the audit trail refuses to be edited or deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from billing.audit.models import AuditEvent
from billing.audit.service import record
from billing.cli import ledger_audit
from billing.ledger.integrity import find_discrepancies
from billing.ledger.models import Account, Entry
from tests.factories import top_up

pytestmark = pytest.mark.integration


def test_find_discrepancies_finds_a_planted_balance_and_an_unbalanced_transaction(
    app, runtime, tenant, sessions, superuser_sessions
):
    with runtime.unit_of_work() as session:
        top_up(session, tenant.tenant_id, 5_000_00)
    with sessions() as session:
        assert find_discrepancies(session, tenant.tenant_id) == []
        entry = session.execute(
            select(Entry).join(Account, Account.id == Entry.account_id)
            .where(Account.tenant_id == tenant.tenant_id).limit(1)
        ).scalar_one()  # fmt: skip
    with superuser_sessions() as session, session.begin():
        # Planted past the guards (as a bad migration or a hand edit would): the cached
        # balance moved by one cent, and an entry whose transaction no longer balances.
        session.execute(
            text("UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE id = :id"),
            {"id": entry.account_id},
        )
        session.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
        session.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor,"
                " balance_after_minor, account_version, created_at) SELECT transaction_id,"
                " account_id, currency, 7, balance_after_minor, account_version + 1000, created_at"
                " FROM ledger_entries WHERE id = :id"
            ),
            {"id": entry.id},
        )
    try:
        with sessions() as session:
            found = find_discrepancies(session, tenant.tenant_id)
        checks = {(d.rule, d.subject) for d in found}
        assert ("balance_equals_entries", f"account {entry.account_id}") in checks
        assert ("transaction_balanced", f"transaction {entry.transaction_id}") in checks
        # The operator's command after a restore (docs/operations.md) says so, and fails.
        result = app.test_cli_runner().invoke(ledger_audit)
        assert result.exit_code == 1, result.output
        assert f"balance_equals_entries: account {entry.account_id}" in result.output
    finally:  # the ledger whole again: the worker's daily audit checks every tenant
        with superuser_sessions() as session, session.begin():
            session.execute(text("SET LOCAL session_replication_role = replica"))
            session.execute(
                text("DELETE FROM ledger_entries WHERE transaction_id = :t AND amount_minor = 7"),
                {"t": entry.transaction_id},
            )
            session.execute(
                text("UPDATE ledger_accounts SET balance_minor = balance_minor - 1 WHERE id = :id"),
                {"id": entry.account_id},
            )
    with sessions() as session:
        assert find_discrepancies(session, tenant.tenant_id) == []
    whole = app.test_cli_runner().invoke(ledger_audit)
    assert (whole.exit_code, whole.output.strip()) == (0, "ledger audit: passed")


def test_the_audit_trail_is_append_only(runtime, sessions, tenant):
    with runtime.unit_of_work() as session:
        record(
            session,
            actor="system",
            action="test.planted",
            subject_type="tenant",
            subject_id=tenant.tenant_id,
            tenant_id=tenant.tenant_id,
        )
    with sessions() as session:
        event_id = session.execute(
            select(AuditEvent.id).where(AuditEvent.subject_id == tenant.tenant_id)
        ).scalar_one()
    for statement in (
        "UPDATE audit_events SET action = 'test.rewritten' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ):
        with sessions() as session, pytest.raises(DBAPIError) as refused, session.begin():
            session.execute(text(statement), {"id": event_id})
        assert "append-only" in str(refused.value) or "insufficient" in str(refused.value)
    with sessions() as session:
        assert session.get(AuditEvent, event_id).action == "test.planted"
