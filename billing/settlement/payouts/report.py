"""A reconciled payout for finance: CSV (every line) and a short table (the CLI, the demo)."""

from __future__ import annotations

import csv
import io

from billing.core.money import Currency, Money
from billing.settlement.payouts.lines import KINDS
from billing.settlement.payouts.models import PayoutLine, StripePayout

COLUMNS = (
    "payout_id", "arrival_date", "balance_transaction_id", "kind", "source_id", "occurred_at",
    "gross", "fee", "net", "currency", "outcome", "topup_id", "tenant_id",
    "ledger_transaction_id", "fee_transaction_id", "expected_gross", "expected_fee", "note",
    "review_item_id",
)  # fmt: skip


def _major(minor: int | None) -> str:
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def as_csv(payout: StripePayout, rows: list[PayoutLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    arrival = payout.arrival_at.date().isoformat()
    for line in rows:
        writer.writerow((
            payout.id, arrival, line.balance_transaction_id or "", line.kind,
            line.source_id or "", line.occurred_at.isoformat() if line.occurred_at else "",
            _major(line.gross_minor), _major(line.fee_minor), _major(line.net_minor),
            line.currency, line.outcome, line.topup_id or "", line.tenant_id or "",
            line.ledger_transaction_id or "", line.fee_transaction_id or "",
            _major(line.expected_gross_minor), _major(line.expected_fee_minor), line.note or "",
            line.review_item_id or "",
        ))  # fmt: skip
    totals = payout.totals
    for name in ("gross", "fees", "refunds", "disputes", "other", "computed", "payout"):
        writer.writerow((payout.id, arrival, "", f"total {name}", "", "", _major(totals.get(name))))
    return buffer.getvalue()


def as_table(payout: StripePayout, rows: list[PayoutLine]) -> list[str]:
    """The payout as a clerk reads it: a line per balance transaction, then the sum."""
    currency = Currency(payout.currency)

    def money(minor: int | None) -> str:
        return "" if minor is None else str(Money(minor, currency))

    totals = payout.totals
    out = [
        f"payout {payout.id} arriving {payout.arrival_at:%Y-%m-%d}: {money(payout.amount_minor)}"
        f" ({payout.status})",
        f"  {'kind':<8} {'source':<22} {'gross':>16} {'fee':>12} {'net':>16}"
        f"  {'ledger':>8}  outcome",
    ]
    order = {kind: n for n, kind in enumerate(KINDS)}
    for line in sorted(rows, key=lambda row: (order.get(row.kind, len(order)), row.id)):
        out.append(
            f"  {line.kind:<8} {(line.source_id or '')[:22]:<22} {money(line.gross_minor):>16}"
            f" {money(line.fee_minor):>12} {money(line.net_minor):>16}"
            f"  {line.ledger_transaction_id or '':>8}  {line.outcome.replace('_', ' ')}"
        )
    verdict = (
        "reconciles"
        if totals.get("reconciles")
        else (f"does NOT reconcile (difference {money(totals.get('difference'))})")
    )
    out.append(
        f"  gross {money(totals.get('gross'))} - fees {money(totals.get('fees'))}"
        f" - refunds {money(totals.get('refunds'))} - disputes {money(totals.get('disputes'))}"
        + (f" + other {money(totals.get('other'))}" if totals.get("other") else "")
        + f" = {money(totals.get('computed'))}; paid out {money(payout.amount_minor)}: {verdict}"
    )
    return out
