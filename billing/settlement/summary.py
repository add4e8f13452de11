"""The reconciliation per provider and day: what was collected, charged and paid out,
and how many lines fell into each exception.

Gross is what matched top-ups the provider collected; fees are its charges on them (and
charges naming no payment); net is gross less fees; paid to bank is what the provider
reported paying out that day; unsettled is net less paid to bank. A day's payout
sweeps an aggregator's whole balance, so it is shown under the aggregator's own name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.core.money import Currency, Money
from billing.settlement.models import EXCEPTIONS, Outcome, StatementLine

_EXCEPTION_VALUES = tuple(outcome.value for outcome in EXCEPTIONS)


@dataclass
class DaySummary:
    day: str
    provider: str
    currency: str
    lines: int = 0
    matched: int = 0
    exceptions: dict[str, int] = field(default_factory=dict)
    gross_minor: int = 0
    fee_minor: int = 0
    paid_to_bank_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fee_minor

    @property
    def unsettled_minor(self) -> int:
        return self.net_minor - self.paid_to_bank_minor

    @property
    def exception_count(self) -> int:
        return sum(self.exceptions.values())


def daily_summary(
    session: Session, *, day: str | None = None, provider: str | None = None
) -> list[DaySummary]:
    query = select(
        StatementLine.day,
        StatementLine.provider,
        StatementLine.currency,
        StatementLine.outcome,
        func.count(),
        func.sum(StatementLine.amount_minor),
        func.sum(StatementLine.fee_minor),
    ).group_by(
        StatementLine.day, StatementLine.provider, StatementLine.currency, StatementLine.outcome
    )
    if day is not None:
        query = query.where(StatementLine.day == day)
    if provider is not None:
        query = query.where(StatementLine.provider == provider)
    return fold(session.execute(query))


def fold(rows: Iterable) -> list[DaySummary]:
    summaries: dict[tuple[str, str, str], DaySummary] = {}
    for day, provider, currency, outcome, count, amount, fee in rows:
        key = (day, provider, currency)
        summary = summaries.setdefault(key, DaySummary(day, provider, currency))
        summary.lines += count
        if outcome == Outcome.MATCHED:
            summary.matched += count
            summary.gross_minor += int(amount)
            summary.fee_minor += int(fee)
        elif outcome == Outcome.FEE_UNLINKED:
            summary.fee_minor += int(amount)
        elif outcome == Outcome.PAYOUT:
            summary.paid_to_bank_minor += int(amount)
        if outcome in _EXCEPTION_VALUES:
            summary.exceptions[outcome] = summary.exceptions.get(outcome, 0) + count
    return sorted(summaries.values(), key=lambda s: (s.day, s.provider, s.currency))


def as_table(summaries: list[DaySummary]) -> list[str]:
    """The summary as a finance clerk reads it: one line per provider and day."""
    if not summaries:
        return ["no statement lines for that day"]
    lines = [
        f"{'day':<10}  {'provider':<12} {'lines':>7} {'matched':>7} {'exceptions':>10}  "
        f"{'gross':>18} {'fees':>14} {'net':>18} {'paid to bank':>18} {'unsettled':>16}"
    ]
    for s in summaries:
        currency = Currency(s.currency)

        def money(minor: int, currency: Currency = currency) -> str:
            return str(Money(minor, currency))

        lines.append(
            f"{s.day:<10}  {s.provider:<12} {s.lines:>7} {s.matched:>7} {s.exception_count:>10}  "
            f"{money(s.gross_minor):>18} {money(s.fee_minor):>14} {money(s.net_minor):>18} "
            f"{money(s.paid_to_bank_minor):>18} {money(s.unsettled_minor):>16}"
        )
        for outcome, count in sorted(s.exceptions.items()):
            lines.append(f"{'':<24}{count:>7} {outcome.replace('_', ' ')}")
    return lines
