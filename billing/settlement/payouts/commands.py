"""What `billing stripe-payouts` prints: each payout's lines and whether it reconciles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from billing.core.clock import utcnow
from billing.core.errors import InvalidInput
from billing.runtime import Runtime
from billing.settlement.payouts.models import PAYOUT_EXCEPTIONS
from billing.settlement.payouts.report import as_table
from billing.settlement.payouts.service import Reconciled, lines_of


def _day(text: str, name: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        raise InvalidInput.on(name, "a day, YYYY-MM-DD") from None


def day_range(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """[since, until) in UTC days; by default the last seven days and today."""
    today = datetime.combine(utcnow().date(), time(), UTC)
    start = _day(since, "since") if since else today - timedelta(days=7)
    end = _day(until, "until") if until else today + timedelta(days=1)
    return start, end


def print_payouts(runtime: Runtime, done: list[Reconciled], echo: Callable[[str], None]) -> None:
    if not done:
        echo("no automatic Stripe payout in that range")
    for reconciled in done:
        payout = reconciled.payout
        if reconciled.reimported:
            echo(f"{payout.id}: reconciled before, on {payout.reconciled_at:%Y-%m-%d %H:%M} UTC"
                 " (nothing changed)")  # fmt: skip
        with runtime.sessions() as session:
            rows = lines_of(session, payout.id)
        for line in as_table(payout, rows):
            echo(line)
        exceptions = sum(1 for row in rows if row.outcome in PAYOUT_EXCEPTIONS)
        if exceptions:
            echo(f"  {exceptions} exception(s) sent to the review queue (GET /v1/review-items)")
