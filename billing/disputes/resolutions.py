"""Resolving a dispute, once, through the pipelines that already move money and documents.

- `credit`: the wallet is credited from the adjustments account (one ledger transaction);
- `rerate`: the disputed usage is priced again (`billing.invoicing.rerating`), with a
  chosen plan if one is named: it is assigned for the disputed period only (new plan
  assignments from the period's start, and the plan in force before from its end), so
  no assignment is edited; the differences are ledger entries (prepaid) or a credit
  note and adjustments (postpaid);
- `credit_note`: a credit note against the invoice (or the disputed line), finalised;
- `refund`: the top-up refunded through its provider (`billing.topups.refunds`);
- `rejected`: nothing moves; the reason is kept and told.

The same request again returns the same resolution; another request for a resolved
dispute is 409. The resolution names every ledger transaction and document it made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.errors import Conflict, InvalidInput
from billing.core.money import Currency
from billing.disputes import states
from billing.disputes.models import Dispute, DisputeResolution, DisputeStatus, SubjectType
from billing.disputes.notify import tell_tenant
from billing.disputes.service import get_dispute
from billing.invoicing.credit_notes import create_credit_note, left_to_credit
from billing.invoicing.models import Invoice
from billing.invoicing.rerating import rerate_invoiced_period
from billing.invoicing.service import finalise
from billing.ledger.models import Transaction
from billing.ledger.postings import ADJUSTMENTS, WALLET, Posting
from billing.ledger.service import post_transaction
from billing.tariffs.models import PlanAssignment
from billing.tariffs.plan_schemas import RateEntriesSchema
from billing.tariffs.rate_plans import assign_plan, get_plan
from billing.topups.gateways import Gateways
from billing.topups.models import Refund
from billing.topups.refunds import request_refund
from billing.usage.statements import INVOICE_ZONE

OUTCOMES = ("credit", "rerate", "credit_note", "refund", "rejected")


@dataclass(frozen=True)
class ResolveRequest:
    outcome: str
    note: str
    amount: int | None = None
    plan_id: str | None = None
    lines: dict[int, int] | None = None  # credit_note: line position → amount

    def digest(self) -> str:
        body = asdict(self) | {"lines": sorted((self.lines or {}).items())}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class Produced:
    ledger_transaction_ids: list[int] = field(default_factory=list)
    documents: dict[str, Any] = field(default_factory=dict)
    amount: int | None = None


def resolve(
    session: Session,
    settings: Settings,
    gateways: Gateways,
    dispute_id: str,
    request: ResolveRequest,
    *,
    actor: str,
) -> Dispute:
    dispute = get_dispute(session, dispute_id, None, lock=True)
    digest = request.digest()
    if dispute.resolution is not None:
        if dispute.resolution.request_sha256 == digest:
            return dispute  # the same resolution, asked again
        raise Conflict(f"dispute {dispute_id} was resolved already ({dispute.resolution.outcome})")
    if request.outcome not in OUTCOMES:
        raise InvalidInput.on("outcome", f"one of {', '.join(OUTCOMES)}")
    wanted = states.REJECTED if request.outcome == "rejected" else states.RESOLVED
    try:
        states.move(dispute.status.value, wanted)
    except states.TransitionRefused as refused:
        raise Conflict(str(refused)) from None
    handler = _HANDLERS[request.outcome]
    produced = handler(session, settings, gateways, dispute, request, actor)
    before = dispute.status.value
    now = utcnow()
    dispute.resolution = DisputeResolution(
        dispute_id=dispute.id,
        outcome=request.outcome,
        amount_minor=produced.amount,
        currency=dispute.currency,
        note=request.note,
        plan_id=request.plan_id,
        request_sha256=digest,
        ledger_transaction_ids=produced.ledger_transaction_ids,
        documents=produced.documents,
        resolved_by=actor,
        created_at=now,
    )
    dispute.status = DisputeStatus(wanted)
    dispute.closed_at = dispute.updated_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action=f"dispute.{wanted}",
        subject_type="dispute",
        subject_id=dispute.id,
        tenant_id=dispute.tenant_id,
        detail={
            "before": {"status": before},
            "after": {"status": wanted},
            "outcome": request.outcome,
            "amount_minor": produced.amount,
            "currency": dispute.currency,
            "note": request.note,
            "ledger_transaction_ids": produced.ledger_transaction_ids,
            "documents": produced.documents,
        },
    )
    tell_tenant(session, dispute, wanted, outcome=request.outcome)
    return dispute


def _credit(session, settings, gateways, dispute: Dispute, request: ResolveRequest, actor):
    if not request.amount or request.amount <= 0:
        raise InvalidInput.on("amount", "a credit names a positive amount in minor units")
    currency = Currency(dispute.currency)
    posted = post_transaction(
        session,
        tenant_id=dispute.tenant_id,
        idempotency_key=f"dispute-credit:{dispute.id}",
        kind="dispute_credit",
        postings=[
            Posting(WALLET, currency, request.amount),
            Posting(ADJUSTMENTS, currency, -request.amount),
        ],
        description=f"dispute {dispute.id}: {request.note}"[:500],
        reference=dispute.id,
    )
    return Produced([posted.id], {}, request.amount)


def _refund(session, settings, gateways, dispute: Dispute, request: ResolveRequest, actor):
    if dispute.subject_type is not SubjectType.TOPUP:
        raise InvalidInput.on("outcome", "a refund answers a dispute about a top-up")
    topup = request_refund(
        session, gateways, dispute.subject_id, request.amount, request.note, actor=actor
    )
    refund = (
        session.execute(
            select(Refund).where(Refund.topup_id == topup.id).order_by(Refund.created_at.desc())
        )
        .scalars()
        .first()
    )
    return Produced([refund.debit_transaction_id], {"refund_id": refund.id}, refund.amount_minor)


def _credit_note(session, settings, gateways, dispute: Dispute, request: ResolveRequest, actor):
    if dispute.subject_type not in (SubjectType.INVOICE, SubjectType.INVOICE_LINE):
        raise InvalidInput.on("outcome", "a credit note answers a dispute about an invoice")
    invoice = session.get(Invoice, dispute.subject_id)
    amounts = request.lines
    if dispute.subject_type is SubjectType.INVOICE_LINE:
        left = left_to_credit(session, invoice)[dispute.line_position]
        amounts = {dispute.line_position: request.amount or left}
    elif request.amount and not amounts:
        raise InvalidInput.on("lines", "name the lines and amounts to credit, or none for all")
    note = create_credit_note(session, actor, invoice.id, request.note, amounts)
    note = finalise(session, settings, actor, note.id)
    ids = _transactions_of(session, dispute.tenant_id, note.id)
    return Produced(
        ids, {"credit_note_id": note.id, "credit_note_number": note.number_text}, -note.gross_minor
    )


def _rerate(session, settings, gateways, dispute: Dispute, request: ResolveRequest, actor):
    if dispute.period_start is None or dispute.period_end is None:
        raise InvalidInput.on("outcome", "re-rating answers a dispute about usage")
    start, end = dispute.period_start, dispute.period_end
    assignments = []
    if request.plan_id:
        assignments = _plan_for_period(
            session, dispute.tenant_id, request.plan_id, start, end, actor
        )
    summary = rerate_invoiced_period(session, actor, dispute.tenant_id, start, end)
    ids = [summary.ledger_transaction_id] if summary.ledger_transaction_id else []
    for note_id in summary.credit_note_ids:
        ids += _transactions_of(session, dispute.tenant_id, note_id)
    documents = {
        "records_examined": summary.examined,
        "records_changed": summary.changed,
        "net_difference_minor": summary.net_difference,
        "credit_note_ids": list(summary.credit_note_ids),
        "adjustments_minor": summary.adjustments_minor,
        "plan_assignment_ids": assignments,
    }
    return Produced(ids, documents, summary.net_difference)


def _plan_for_period(session, tenant_id: str, plan_id: str, start, end, actor) -> list[str]:
    """The chosen plan from the period's start; from its end, the plan that was in force."""
    get_plan(session, plan_id)  # 404 for an unknown plan
    since, until = (datetime.combine(day, time(0), INVOICE_ZONE) for day in (start, end))
    previous = session.execute(
        select(PlanAssignment)
        .where(PlanAssignment.tenant_id == tenant_id, PlanAssignment.valid_from <= until)
        .order_by(PlanAssignment.valid_from.desc(), PlanAssignment.created_at.desc())
        .limit(1)
    ).scalar()
    made = [assign_plan(session, tenant_id, plan_id, valid_from=since, created_by=actor).id]
    if previous is not None:
        back = assign_plan(
            session,
            tenant_id,
            previous.plan_id,
            valid_from=until,
            valid_to=previous.valid_to,
            overrides=_loaded(previous.overrides),
            credit_limit_minor=previous.credit_limit_minor,
            created_by=actor,
        )
        made.append(back.id)
    return made


def _loaded(overrides: dict | None) -> dict | None:
    return RateEntriesSchema().load(overrides) if overrides else None


def _reject(session, settings, gateways, dispute: Dispute, request: ResolveRequest, actor):
    if not request.note.strip():
        raise InvalidInput.on("note", "say why the dispute is rejected")
    return Produced()


def _transactions_of(session: Session, tenant_id: str, reference: str) -> list[int]:
    return list(
        session.execute(
            select(Transaction.id)
            .where(Transaction.tenant_id == tenant_id, Transaction.reference == reference)
            .order_by(Transaction.id)
        ).scalars()
    )


_HANDLERS = {
    "credit": _credit,
    "refund": _refund,
    "credit_note": _credit_note,
    "rerate": _rerate,
    "rejected": _reject,
}
