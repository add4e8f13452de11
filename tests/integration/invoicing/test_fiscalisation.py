"""Fiscalisation against the TRA simulator: each fault ends right, the same bytes are
resent, nothing is resent after ACK 0, and an invoice goes out while TRA is down."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from billing.audit.models import AuditEvent
from billing.invoicing import jobs, service, vfd
from billing.invoicing.fiscal import drain
from billing.invoicing.models import Invoice, VfdCounter
from billing.invoicing.states import FiscalStatus, InvoiceStatus
from billing.topups.models import ReviewItem
from invoices.vfd.signing import open_envelope
from tests.polling import eventually

pytestmark = pytest.mark.integration


def finalise(runtime, invoice_id: str) -> None:
    with runtime.unit_of_work() as session:
        service.finalise(session, runtime.settings, "stf_test", invoice_id)


def load(runtime, invoice_id: str) -> Invoice:
    with runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        _ = invoice.receipt_body, invoice.pdf  # deferred columns, loaded while open
        return invoice


def drain_again(runtime) -> int:
    """What the worker's ticker does while receipts are pending."""
    settings = runtime.settings
    return drain(runtime, vfd.client(settings), vfd.device(settings).efd_serial)


def test_an_invoice_is_acknowledged_rendered_and_e_mailed(
    fiscal_runtime, tra, smtp, postpaid_draft
):
    tra.start()
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    invoice = load(fiscal_runtime, draft)
    assert invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED
    assert invoice.status is InvoiceStatus.SENT
    assert invoice.pdf.startswith(b"%PDF") and invoice.pdf_has_ack
    payload, _signature = open_envelope(invoice.receipt_body)
    assert tra.state.accepted == [payload]
    assert tra.state.received == [invoice.receipt_body]
    assert f"<GC>{invoice.gc}</GC>".encode() in payload
    assert f"<RCTVNUM>{tra.state.receipt_code}{invoice.gc}</RCTVNUM>".encode() in payload
    mailbox, _port = smtp
    message = email.message_from_bytes(mailbox.messages[-1])
    assert invoice.number_text in message["Subject"]
    assert message["To"] == "billing@duka.co.tz"
    attachment = next(part for part in message.walk() if part.get_filename())
    assert attachment.get_filename() == f"{invoice.number_text}.pdf"
    assert attachment.get_payload(decode=True) == invoice.pdf
    with fiscal_runtime.sessions() as session:
        actions = (
            session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.subject_id == draft)
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    assert actions == ["invoice.draft_created", "invoice.finalised", "invoice.fiscalised",
                       "invoice.original_issued", "invoice.delivered"]  # fmt: skip


@pytest.mark.parametrize("fault", ["timeout", "http500", "ack1", "ack3", "ack6"])
def test_each_fault_ends_acknowledged_with_the_identical_xml(
    fiscal_runtime, tra, postpaid_draft, fault
):
    tra.start()
    tra.state.faults.append(fault)
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    pending = load(fiscal_runtime, draft)
    assert pending.fiscal_status is FiscalStatus.PENDING
    assert pending.fiscal_attempts == 1
    if fault.startswith("ack"):
        assert pending.last_ack_code == int(fault[3:])
    else:
        assert pending.last_ack_code is None and pending.last_fiscal_error
    assert pending.status is InvoiceStatus.SENT  # delivered without waiting for TRA
    assert drain_again(fiscal_runtime) == 1
    done = load(fiscal_runtime, draft)
    assert done.fiscal_status is FiscalStatus.ACKNOWLEDGED
    assert done.status is InvoiceStatus.SENT
    assert tra.state.received == [done.receipt_body, done.receipt_body]
    assert tra.state.accepted == [open_envelope(done.receipt_body)[0]]
    assert drain_again(fiscal_runtime) == 0  # never resent after ACK 0
    assert len(tra.state.received) == 2


def test_an_expired_token_is_renewed_and_the_receipt_accepted_at_once(
    fiscal_runtime, tra, postpaid_draft
):
    tra.start()
    _tenant, first = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, first)
    tra.state.faults.append("expire_token")
    _tenant, second = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, second)
    invoice = load(fiscal_runtime, second)
    assert invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED
    assert tra.state.received[-2:] == [invoice.receipt_body, invoice.receipt_body]


def test_while_tra_is_down_invoices_go_out_and_are_fiscalised_in_order_later(
    fiscal_runtime, tra, smtp, postpaid_draft
):
    drafts = [postpaid_draft(fiscal_runtime)[1] for _ in range(3)]
    for draft in drafts:
        finalise(fiscal_runtime, draft)
    mailbox, _port = smtp
    for draft in drafts:
        invoice = load(fiscal_runtime, draft)
        assert invoice.status is InvoiceStatus.SENT
        assert invoice.fiscal_status is FiscalStatus.PENDING
        assert invoice.pdf.startswith(b"%PDF") and not invoice.pdf_has_ack
    head = load(fiscal_runtime, drafts[0])  # each drain tries the head of the queue only
    assert head.fiscal_attempts == 3 and "ConnectionError" in head.last_fiscal_error
    assert load(fiscal_runtime, drafts[2]).fiscal_attempts == 0
    assert len(mailbox.messages) == 3
    tra.start()
    jobs.sweep()  # the worker's ticker
    invoices = [load(fiscal_runtime, d) for d in drafts]
    assert all(i.fiscal_status is FiscalStatus.ACKNOWLEDGED for i in invoices)
    assert all(i.pdf_has_ack for i in invoices)  # re-rendered with TRA's acknowledgement
    gcs = [int(rct.split(b"<GC>")[1].split(b"</GC>")[0]) for rct in tra.state.accepted]
    assert gcs == sorted(i.gc for i in invoices)
    assert len(mailbox.messages) == 3  # delivered once, not again after ACK


def test_a_receipt_tra_keeps_refusing_blocks_the_queue_and_asks_a_person(
    fiscal_runtime, tra, postpaid_draft
):
    tra.start()
    tra.state.faults.extend(["ack1"] * 5)
    _tenant, first = postpaid_draft(fiscal_runtime)
    _tenant, second = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, first)
    finalise(fiscal_runtime, second)  # its drain stops at the refused first receipt
    for _ in range(3):
        drain_again(fiscal_runtime)
    assert load(fiscal_runtime, second).fiscal_status is FiscalStatus.PENDING
    blocked = load(fiscal_runtime, first)
    assert blocked.fiscal_attempts == 5 and blocked.last_ack_code == 1
    with fiscal_runtime.sessions() as session:
        item = session.execute(
            select(ReviewItem).where(ReviewItem.kind == "vfd_rejected",
                                     ReviewItem.tenant_id == blocked.tenant_id)
        ).scalar_one()  # fmt: skip
    assert blocked.number_text in item.summary
    assert drain_again(fiscal_runtime) == 2
    assert eventually(
        lambda: load(fiscal_runtime, second).fiscal_status is FiscalStatus.ACKNOWLEDGED
    )


def test_one_drainer_at_a_time_and_a_dead_drainers_lease_runs_out(
    fiscal_runtime, tra, postpaid_draft
):
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)  # TRA not started: left pending
    serial = vfd.device(fiscal_runtime.settings).efd_serial
    tra.start()
    held = datetime.now(UTC) + timedelta(minutes=1)
    with fiscal_runtime.unit_of_work() as session:
        session.execute(
            update(VfdCounter).where(VfdCounter.efd_serial == serial)
            .values(drain_token="another", drain_until=held)
        )  # fmt: skip
    assert drain_again(fiscal_runtime) == 0  # another drainer holds the VFD
    assert load(fiscal_runtime, draft).fiscal_status is FiscalStatus.PENDING
    with fiscal_runtime.unit_of_work() as session:
        session.execute(
            update(VfdCounter).where(VfdCounter.efd_serial == serial)
            .values(drain_until=datetime.now(UTC) - timedelta(seconds=1))
        )  # fmt: skip
    assert drain_again(fiscal_runtime) == 1  # it died: its lease ran out
    with fiscal_runtime.sessions() as session:
        counter = session.get(VfdCounter, serial)
    assert counter.drain_token is None and counter.drain_until is None  # released


def test_an_smtp_outage_is_retried_and_the_invoice_sent_once(
    fiscal_runtime, tra, smtp, postpaid_draft
):
    from billing.jobs.models import OutboxMessage
    from billing.jobs.outbox import relay

    tra.start()
    mailbox, port = smtp
    mailbox.controller.stop()  # the mail server is down
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    failed = load(fiscal_runtime, draft)
    assert failed.status is InvoiceStatus.FISCALISED  # acknowledged, not yet sent
    assert failed.delivery_attempts == 1 and "ConnectionRefused" in failed.last_delivery_error
    mailbox.controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    mailbox.controller.start()  # and back
    with fiscal_runtime.sessions() as session:
        waiting = session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.dedupe_key == f"invoicing.deliver:{draft}",
                OutboxMessage.relayed_at.is_(None),
            )
        ).scalar_one()  # left for the relay to run again
    relay(fiscal_runtime.sessions, fiscal_runtime.queue, [waiting])
    sent = load(fiscal_runtime, draft)
    assert sent.status is InvoiceStatus.SENT and sent.delivery_attempts == 2
    relay(fiscal_runtime.sessions, fiscal_runtime.queue, [waiting])
    jobs.deliver(draft)  # a duplicate run sends nothing more
    assert sum(draft.encode() in m or sent.number_text.encode() in m for m in mailbox.messages) == 1
