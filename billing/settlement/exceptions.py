"""Statement exceptions into the staff review queue, set-based, and what an exception
needs to become a dispute or an adjustment later.

Each exception line opens one review item of kind `statement_<outcome>` whose detail
carries the line (statement, line number, provider ids, amounts). An exception about
a top-up that already has an open item of that kind (an overlapping statement) links
to that item instead of opening a second.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.core.errors import NotFound
from billing.settlement.models import EXCEPTIONS, StatementLine

REVIEW_KINDS = tuple(f"statement_{outcome.value}" for outcome in EXCEPTIONS)
_OUTCOMES = ", ".join(f"'{outcome.value}'" for outcome in EXCEPTIONS)
_DETAIL_KEYS = (
    ("statement_id", "l.statement_id"),
    ("line_id", "l.id"),
    ("line_no", "l.line_no"),
    ("outcome", "l.outcome"),
    ("provider", "l.provider"),
    ("provider_txn_id", "l.provider_txn_id"),
    ("reference", "l.reference"),
    ("msisdn", "l.msisdn"),
    ("amount", "l.amount_minor"),
    ("fee", "l.fee_minor"),
    ("currency", "l.currency"),
    ("expected_amount", "l.expected_amount_minor"),
    ("expected_currency", "l.expected_currency"),
    ("day", "l.day"),
)

_OPEN = """
INSERT INTO review_items (id, kind, tenant_id, topup_id, inbox_id, summary, detail, status,
    created_at)
SELECT 'rev_stl' || l.id, 'statement_' || l.outcome, l.tenant_id, l.topup_id, NULL,
    'statement ' || replace(l.outcome, '_', ' ') || ': ' || l.provider || ' '
        || COALESCE(l.provider_txn_id, l.reference, ''),
    {detail}, 'open', :now
FROM settlement_lines l
WHERE l.statement_id = :statement_id AND l.outcome IN ({outcomes})
ON CONFLICT DO NOTHING
"""
# Only this module's constants are formatted into these statements; values are bound.
_LINK_OWN = f"""
UPDATE settlement_lines SET review_item_id = 'rev_stl' || id
WHERE statement_id = :statement_id AND outcome IN ({_OUTCOMES})
  AND EXISTS (SELECT 1 FROM review_items r WHERE r.id = 'rev_stl' || settlement_lines.id)
"""
_LINK_EXISTING = f"""
UPDATE settlement_lines SET review_item_id = (
    SELECT r.id FROM review_items r
    WHERE r.kind = 'statement_' || settlement_lines.outcome
      AND r.topup_id = settlement_lines.topup_id AND r.inbox_id IS NULL
    ORDER BY r.created_at LIMIT 1
)
WHERE statement_id = :statement_id AND outcome IN ({_OUTCOMES}) AND review_item_id IS NULL
  AND topup_id IS NOT NULL
"""


def open_review_items(session: Session, statement_id: str) -> None:
    function = "json_build_object" if is_postgresql(session) else "json_object"
    pairs = ", ".join(f"'{key}', {column}" for key, column in _DETAIL_KEYS)
    detail = f"{function}({pairs})"
    params = {"statement_id": statement_id}
    session.execute(
        text(_OPEN.format(detail=detail, outcomes=_OUTCOMES)), {**params, "now": utcnow()}
    )
    session.execute(text(_LINK_OWN), params)
    session.execute(text(_LINK_EXISTING), params)


def exception_evidence(session: Session, line_id: int) -> dict[str, Any]:
    """Everything a dispute or an adjustment about this exception needs: the line as the
    provider wrote it, what it was matched to, and the review item it opened."""
    line = session.get(StatementLine, line_id)
    if line is None or line.outcome not in {o.value for o in EXCEPTIONS}:
        raise NotFound(f"no reconciliation exception {line_id}")
    return {
        "subject_type": "topup" if line.topup_id else "settlement_line",
        "subject_id": line.topup_id or str(line.id),
        "tenant_id": line.tenant_id,
        "outcome": line.outcome,
        "statement_id": line.statement_id,
        "line_no": line.line_no,
        "provider": line.provider,
        "provider_txn_id": line.provider_txn_id,
        "reference": line.reference,
        "msisdn": line.msisdn,
        "amount_minor": line.amount_minor,
        "currency": line.currency,
        "expected_amount_minor": line.expected_amount_minor,
        "expected_currency": line.expected_currency,
        "review_item_id": line.review_item_id,
    }


def escalate_exception(session: Session, line_id: int, *, actor: str, note: str) -> dict:
    """Turn a reconciliation exception into a dispute or an adjustment.

    MERGE POINT: once the disputes capability lands, this calls its
    `open_dispute(session, subject_type=…, subject_id=…, tenant_id=…, reason=note,
    evidence=evidence, opened_by=actor)` (a top-up's exception) or proposes an
    adjustment (a payment no top-up of ours names). Until then it records the
    escalation in the audit trail and returns the evidence it would hand over.
    """
    evidence = exception_evidence(session, line_id)
    record(
        session,
        actor=actor,
        action="settlement.exception_escalated",
        subject_type=evidence["subject_type"],
        subject_id=evidence["subject_id"],
        tenant_id=evidence["tenant_id"],
        detail={"note": note, **evidence},
    )
    return evidence


def lines_of_item(session: Session, item_id: str) -> list[StatementLine]:
    return list(
        session.execute(
            select(StatementLine).where(StatementLine.review_item_id == item_id)
        ).scalars()
    )
