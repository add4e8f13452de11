"""Statement exceptions into the staff review queue, set-based.

Each exception line opens one review item of kind `statement_<outcome>` whose detail
carries the line (statement, line number, provider ids, amounts). An exception about
a top-up that already has an open item of that kind (an overlapping statement) links
to that item instead of opening a second. From the queue an item about a top-up becomes
a dispute (`POST /v1/review-items/{id}/dispute`); a payment no top-up of ours names is
credited after review (`…/credit`) or corrected by an adjustment (`/v1/adjustments`).
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
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


def lines_of_item(session: Session, item_id: str) -> list[StatementLine]:
    return list(
        session.execute(
            select(StatementLine).where(StatementLine.review_item_id == item_id)
        ).scalars()
    )
