"""A dispute's evidence in one document, for staff: what the providers said (raw callbacks
and the status queries that confirmed them), the ledger entries, the usage with its
rating breakdown, the invoice lines and the fiscal receipt. Read-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.config import Settings
from billing.disputes.evidence_books import fiscal_receipt_of, invoice_of, ledger_of
from billing.disputes.models import Dispute, SubjectType
from billing.invoicing.models import Invoice
from billing.topups.models import CallbackDelivery, Refund, ReviewItem, Topup
from billing.usage.models import UsageRecord
from billing.usage.statements import period_bounds

MAX_RECORDS = 500  # of a disputed period; the totals cover all of it
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})


def gather(session: Session, settings: Settings, dispute: Dispute) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "dispute_id": dispute.id,
        "tenant_id": dispute.tenant_id,
        "subject_type": dispute.subject_type.value,
        "subject_id": dispute.subject_id,
        "topup": None,
        "callbacks": [],
        "status_queries": [],
        "refunds": [],
        "review_items": [],
        "usage": [],
        "usage_truncated": False,
        "invoice": None,
        "fiscal_receipt": None,
        "ledger_transactions": [],
    }
    references: set[str] = {dispute.id}
    transaction_ids: set[int] = set()
    if dispute.resolution is not None:
        transaction_ids.update(dispute.resolution.ledger_transaction_ids)
    if dispute.subject_type is SubjectType.TOPUP:
        _topup(session, dispute.subject_id, evidence, references, transaction_ids)
    if dispute.subject_type is SubjectType.USAGE:
        records = _usage_revisions(session, int(dispute.subject_id))
        evidence["usage"] = [_record(r) for r in records]
        transaction_ids.update(r.ledger_transaction_id for r in records if r.ledger_transaction_id)
    elif (
        dispute.period_start
        and dispute.period_end
        and dispute.subject_type in (SubjectType.USAGE_PERIOD, SubjectType.INVOICE)
    ):
        records = _period(session, dispute)
        evidence["usage_truncated"] = len(records) > MAX_RECORDS
        records = records[:MAX_RECORDS]
        evidence["usage"] = [_record(r) for r in records]
        transaction_ids.update(r.ledger_transaction_id for r in records if r.ledger_transaction_id)
    if dispute.subject_type in (SubjectType.INVOICE, SubjectType.INVOICE_LINE):
        invoice = session.get(Invoice, dispute.subject_id)
        evidence["invoice"] = invoice_of(session, invoice, dispute.line_position)
        evidence["fiscal_receipt"] = fiscal_receipt_of(invoice, settings)
        references.add(invoice.id)
        references.update(note["id"] for note in evidence["invoice"]["credit_notes"])
    evidence["ledger_transactions"] = ledger_of(
        session, dispute.tenant_id, references, transaction_ids
    )
    return evidence


def _topup(session, topup_id, evidence, references, transaction_ids) -> None:
    topup = session.get(Topup, topup_id)
    evidence["topup"] = {
        "id": topup.id,
        "status": topup.status.value,
        "provider": topup.provider,
        "reference": topup.reference,
        "msisdn": topup.msisdn,
        "amount": topup.amount_minor,
        "currency": topup.currency,
        "provider_ref": topup.provider_ref,
        "provider_txn_id": topup.provider_txn_id,
        "failure_code": topup.failure_code,
        "failure_reason": topup.failure_reason,
        "checks": topup.checks,
        "created_at": topup.created_at.isoformat(),
    }
    # What proved the credit: a signature, or our own status query (migration 0017).
    if topup.verification:
        evidence["status_queries"].append({"topup_id": topup.id, **topup.verification})
    callbacks = session.execute(
        select(CallbackDelivery)
        .where(CallbackDelivery.topup_id == topup.id)
        .order_by(CallbackDelivery.id)
    ).scalars()
    for callback in callbacks:
        evidence["callbacks"].append(
            {
                "id": callback.id,
                "provider": callback.provider,
                "status": callback.status.value,
                "received_at": callback.received_at.isoformat(),
                "deliveries": callback.deliveries,
                "remote_addr": callback.remote_addr,
                "headers": {
                    k: ("[redacted]" if k.lower() in _SECRET_HEADERS else v)
                    for k, v in (callback.headers or {}).items()
                },
                "body": callback.body.decode("utf-8", errors="replace"),
                "parsed": callback.event,
                "error": callback.error,
            }
        )
    for refund in session.execute(select(Refund).where(Refund.topup_id == topup.id)).scalars():
        evidence["refunds"].append(
            {
                "id": refund.id,
                "status": refund.status.value,
                "amount": refund.amount_minor,
                "reason": refund.reason,
                "provider_txn_id": refund.provider_txn_id,
                "debit_transaction_id": refund.debit_transaction_id,
                "reversal_transaction_id": refund.reversal_transaction_id,
            }
        )
        transaction_ids.add(refund.debit_transaction_id)
        if refund.reversal_transaction_id:
            transaction_ids.add(refund.reversal_transaction_id)
    items = session.execute(select(ReviewItem).where(ReviewItem.topup_id == topup.id)).scalars()
    evidence["review_items"] = [
        {
            "id": i.id,
            "kind": i.kind,
            "status": i.status.value,
            "summary": i.summary,
            "detail": i.detail,
            "resolution": i.resolution,
        }
        for i in items
    ]
    references.add(topup.id)
    if topup.ledger_transaction_id:
        transaction_ids.add(topup.ledger_transaction_id)


def _usage_revisions(session: Session, record_id: int) -> list[UsageRecord]:
    """The record and every revision of the same usage (re-ratings), oldest first."""
    first = session.get(UsageRecord, record_id)
    return list(
        session.execute(
            select(UsageRecord)
            .where(
                UsageRecord.source_system == first.source_system,
                UsageRecord.source_id == first.source_id,
            )
            .order_by(UsageRecord.revision)
        ).scalars()
    )


def _period(session: Session, dispute: Dispute) -> list[UsageRecord]:
    since, until = period_bounds(dispute.period_start, dispute.period_end)
    return list(
        session.execute(
            select(UsageRecord)
            .where(
                UsageRecord.tenant_id == dispute.tenant_id,
                UsageRecord.occurred_at >= since,
                UsageRecord.occurred_at < until,
            )
            .order_by(UsageRecord.occurred_at, UsageRecord.id)
            .limit(MAX_RECORDS + 1)
        ).scalars()
    )


def _record(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "source_id": r.source_id,
        "revision": r.revision,
        "service": r.service,
        "status": r.status.value,
        "reason": r.reason,
        "from_number": r.from_number,
        "to_number": r.to_number,
        "occurred_at": r.occurred_at.isoformat(),
        "duration_s": r.duration_s,
        "billable_s": r.billable_s,
        "units": r.units,
        "plan_id": r.plan_id,
        "plan_version": r.plan_version,
        "zone": r.zone,
        "band": r.band,
        "unit": r.unit,
        "billed_units": r.billed_units,
        "bundle_units": r.bundle_units,
        "raw_amount": r.raw_amount,
        "currency": r.currency,
        "net_minor": r.net_minor,
        "vat_minor": r.vat_minor,
        "breakdown": r.breakdown,
        "ledger_transaction_id": r.ledger_transaction_id,
        "superseded_by_id": r.superseded_by_id,
    }
