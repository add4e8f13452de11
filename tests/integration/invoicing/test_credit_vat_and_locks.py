"""Credit notes never take back more VAT than the invoice charged, per line and per rate,
however the credit is split; and finalising a credit note and recording a payment lock
the invoice and `receivable` in one order, so racing they never deadlock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from billing.invoicing import credit_notes, payments, service
from billing.invoicing.models import Invoice, PaymentMethod
from billing.ledger.models import Account
from billing.ledger.postings import RECEIVABLE
from billing.tenants.models import BillingMode
from tests.integration.invoicing.conftest import OCTOBER, usage
from tests.locks import waiting_on_a_lock
from tests.polling import eventually

pytestmark = pytest.mark.integration


def invoiced(runtime, make_tenant, amounts: list[int]) -> str:
    """A finalised postpaid invoice of one line per amount (net minor units)."""
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add_all(usage(tenant.tenant_id, net_minor=amount, zone=f"TZ-MOB-Z{n}")
                        for n, amount in enumerate(amounts))  # fmt: skip
    with runtime.unit_of_work() as session:
        draft, _ = service.create_postpaid_draft(session, "stf_test", tenant.tenant_id, *OCTOBER)
        invoice = service.finalise(session, runtime.settings, "stf_test", draft.id)
        return invoice.id


def credit(runtime, invoice_id: str, position: int, amount: int) -> Invoice:
    with runtime.unit_of_work() as session:
        note = credit_notes.create_credit_note(session, "stf_test", invoice_id, "split",
                                               {position: amount})  # fmt: skip
    with runtime.unit_of_work() as session:
        done = service.finalise(session, runtime.settings, "stf_test", note.id)
        return done.net_minor, done.vat_minor


def test_net_100_credited_as_4_x_25_credits_the_18_vat_invoiced(fiscal_runtime, make_tenant, tra):
    tra.start()
    invoice_id = invoiced(fiscal_runtime, make_tenant, [100])
    with fiscal_runtime.sessions() as session:
        assert session.get(Invoice, invoice_id).vat_minor == 18
    notes = [credit(fiscal_runtime, invoice_id, 1, 25) for _ in range(4)]
    assert [net for net, _ in notes] == [-25] * 4
    assert [vat for _, vat in notes] == [-5, -4, -5, -4]  # rounded on the running total
    assert sum(vat for _, vat in notes) == -18  # not -20
    with fiscal_runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        assert payments.amount_due(session, invoice) == 0  # no credit made out of VAT


def test_vat_is_capped_per_line_as_well(fiscal_runtime, make_tenant, tra):
    tra.start()
    invoice_id = invoiced(fiscal_runtime, make_tenant, [50, 50])  # 9 VAT each, 18 together
    first = [credit(fiscal_runtime, invoice_id, 1, 25)[1] for _ in range(2)]
    assert sum(first) == -9  # line 1 gives back its own 9, never line 2's
    second = [credit(fiscal_runtime, invoice_id, 2, 10)[1] for _ in range(5)]
    assert sum(second) == -9 and sum(first) + sum(second) == -18


def lock_waiters(runtime) -> int:
    with runtime.sessions() as session:
        return session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )).scalar_one()  # fmt: skip


def test_a_credit_note_and_a_payment_racing_never_deadlock(fiscal_runtime, make_tenant, tra):
    """The interleaving that deadlocked: the note's booking waits on `receivable` while the
    payment takes the invoice; once `receivable` is free the note wanted the invoice and
    the payment `receivable`. With one order (invoice, then receivable) the payment waits
    on the invoice instead, and both go through."""
    tra.start()
    invoice_id = invoiced(fiscal_runtime, make_tenant, [1_000_00])
    with fiscal_runtime.unit_of_work() as session:
        tenant_id = session.get(Invoice, invoice_id).tenant_id
        note_id = credit_notes.create_credit_note(
            session, "stf_test", invoice_id, "race", {1: 100_00}
        ).id
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            with fiscal_runtime.unit_of_work() as session:
                work(session)
        except BaseException as error:
            errors.append(error)

    def finalise_note(session) -> None:
        service.finalise(session, fiscal_runtime.settings, "stf_test", note_id)

    def pay(session) -> None:
        received = payments.Received(500_00, "TZS", PaymentMethod.BANK_TRANSFER, "RACE-1",
                                     datetime.now(UTC))  # fmt: skip
        payments.record_payment(session, "stf_test", invoice_id, received)

    with fiscal_runtime.sessions() as blocker, blocker.begin():
        blocker.execute(
            select(Account).where(Account.tenant_id == tenant_id, Account.kind == RECEIVABLE)
            .with_for_update()
        ).scalar_one()  # fmt: skip
        note = threading.Thread(target=run, args=(finalise_note,))
        note.start()
        assert eventually(lambda: waiting_on_a_lock(fiscal_runtime.sessions, "ledger_post"))
        payment = threading.Thread(target=run, args=(pay,))
        payment.start()
        # The payment queues too: on the invoice (one order), or, in the order that
        # deadlocked, on `receivable` while holding the invoice the note will want.
        assert eventually(lambda: lock_waiters(fiscal_runtime) == 2)
    note.join(30)
    payment.join(30)
    assert errors == []  # the other order: "deadlock detected" for one of them
    assert waiting_on_a_lock(fiscal_runtime.sessions, "invoices") is False
    with fiscal_runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice.amount_paid_minor == 500_00
        assert payments.amount_due(session, invoice) == 1_180_00 - 118_00 - 500_00
