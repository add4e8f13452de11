"""A statement's reconciliation as CSV: every line with its outcome, for finance."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.settlement.models import StatementLine

COLUMNS = (
    "line_no", "kind", "provider", "provider_txn_id", "reference", "msisdn", "occurred_at",
    "day", "amount", "fee", "currency", "outcome", "topup_id", "tenant_id", "expected_amount",
    "expected_currency", "review_item_id", "credited_after_review",
)  # fmt: skip
_BATCH = 5_000


def _major(minor: int | None) -> str:
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def report_rows(session: Session, statement_id: str) -> Iterator[str]:
    """The CSV text, a batch of lines at a time (a million-line statement streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    after = 0
    while True:
        batch = session.execute(
            select(StatementLine)
            .where(StatementLine.statement_id == statement_id, StatementLine.id > after)
            .order_by(StatementLine.id)
            .limit(_BATCH)
        ).scalars().all()  # fmt: skip
        for line in batch:
            writer.writerow(
                (
                    line.line_no if line.line_no is not None else "",
                    line.kind,
                    line.provider,
                    line.provider_txn_id or "",
                    line.reference or "",
                    line.msisdn or "",
                    line.occurred_at.isoformat() if line.occurred_at else "",
                    line.day,
                    _major(line.amount_minor),
                    _major(line.fee_minor),
                    line.currency,
                    line.outcome,
                    line.topup_id or "",
                    line.tenant_id or "",
                    _major(line.expected_amount_minor),
                    line.expected_currency or "",
                    line.review_item_id or "",
                    "yes" if line.ledger_transaction_id else "",
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < _BATCH:
            return
        after = batch[-1].id
