"""A fiscal document's PDF is rendered once its first fiscal outcome is known: once with
TRA's ACK when TRA answers at once; the pending version once when it does not, and again
only when it becomes verified. Renders are counted where the job makes them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from billing.invoicing import credit_notes, jobs
from billing.invoicing.fiscal import RENDER_JOB
from billing.invoicing.jobs import topup_receipt
from billing.invoicing.models import Invoice
from billing.invoicing.states import FiscalStatus, InvoiceStatus
from billing.jobs.models import OutboxMessage
from billing.topups.models import Topup, TopupStatus
from tests.integration.invoicing.test_fiscalisation import finalise, load

pytestmark = pytest.mark.integration


@pytest.fixture
def renders(monkeypatch) -> list[tuple[str, bool]]:
    """(invoice id, rendered with ACK) for every PDF the render job makes."""
    made: list[tuple[str, bool]] = []
    real = jobs.render_invoice

    def counting(session, settings, invoice, **kwargs):
        made.append((invoice.id, invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED))
        return real(session, settings, invoice, **kwargs)

    monkeypatch.setattr(jobs, "render_invoice", counting)
    return made


def render_requests(runtime, invoice_id: str) -> list[str]:
    """Which renders were asked for: with several workers, each may run at any moment."""
    with runtime.sessions() as session:
        keys = session.execute(
            select(OutboxMessage.dedupe_key)
            .where(OutboxMessage.job == RENDER_JOB, OutboxMessage.args[0].as_string() == invoice_id)
            .order_by(OutboxMessage.id)
        ).scalars()
        return [key.rsplit(":", 1)[1] for key in keys]


def succeeded_topup(runtime, tenant_id: str, amount: int = 11_800_00) -> str:
    with runtime.unit_of_work() as session:
        topup = Topup(id=f"top_{uuid.uuid4().hex[:12]}", tenant_id=tenant_id,
                      reference=uuid.uuid4().hex[:12].upper(), provider="mpesa",
                      msisdn="255754000111", amount_minor=amount, currency="TZS",
                      status=TopupStatus.SUCCEEDED)  # fmt: skip
        session.add(topup)
    return topup.id


def receipt_id(runtime, topup_id: str) -> str:
    with runtime.sessions() as session:
        return session.query(Invoice.id).filter(Invoice.topup_id == topup_id).scalar()


def test_a_top_up_receipt_tra_acknowledges_at_once_is_rendered_once(
    fiscal_runtime, tra, tenant, renders
):
    tra.start()
    topup_id = succeeded_topup(fiscal_runtime, tenant.tenant_id)
    topup_receipt(topup_id)
    receipt = load(fiscal_runtime, receipt_id(fiscal_runtime, topup_id))
    assert receipt.fiscal_status is FiscalStatus.ACKNOWLEDGED and receipt.pdf_has_ack
    assert renders == [(receipt.id, True)] and receipt.pdf_version == 1
    assert render_requests(fiscal_runtime, receipt.id) == ["ack"]  # none before TRA answered
    jobs.render(receipt.id)  # a repeated job changes nothing
    jobs.sweep()
    assert len(renders) == 1


def test_while_tra_is_down_the_pending_version_once_then_the_verified_once(
    fiscal_runtime, tra, tenant, renders
):
    topup_id = succeeded_topup(fiscal_runtime, tenant.tenant_id)
    topup_receipt(topup_id)  # TRA not started
    pending = load(fiscal_runtime, receipt_id(fiscal_runtime, topup_id))
    assert pending.fiscal_status is FiscalStatus.PENDING
    assert pending.status is InvoiceStatus.SENT and not pending.pdf_has_ack  # it went out
    jobs.sweep()  # TRA still down: no new render
    assert renders == [(pending.id, False)]
    tra.start()
    jobs.sweep()
    jobs.sweep()
    verified = load(fiscal_runtime, pending.id)
    assert verified.pdf_has_ack and verified.pdf_version == 2
    assert renders == [(pending.id, False), (pending.id, True)]
    assert render_requests(fiscal_runtime, pending.id) == ["pending", "ack"]


def test_receipts_queued_behind_a_refused_one_go_out_pending_rendered_once_each(
    fiscal_runtime, tra, postpaid_draft, renders
):
    tra.start()
    tra.state.faults.extend(["ack1", "ack1"])
    drafts = [postpaid_draft(fiscal_runtime)[1] for _ in range(2)]
    finalise(fiscal_runtime, drafts[0])  # refused: rendered pending
    finalise(fiscal_runtime, drafts[1])  # its drain stops at the first: rendered pending
    assert sorted(renders) == sorted((d, False) for d in drafts)
    assert all(load(fiscal_runtime, d).status is InvoiceStatus.SENT for d in drafts)
    jobs.sweep()
    assert sorted(renders[2:]) == sorted((d, True) for d in drafts)
    assert len(renders) == 4


def test_a_credit_note_is_rendered_once(fiscal_runtime, tra, postpaid_draft, renders):
    tra.start()
    _tenant, draft = postpaid_draft(fiscal_runtime)
    finalise(fiscal_runtime, draft)
    with fiscal_runtime.unit_of_work() as session:
        note = credit_notes.create_credit_note(session, "stf_test", draft, "billed twice", None)
    finalise(fiscal_runtime, note.id)
    assert [r for r in renders if r[0] == note.id] == [(note.id, False)]
    assert load(fiscal_runtime, note.id).pdf_version == 1
    assert render_requests(fiscal_runtime, note.id) == ["final"]
