"""What `billing reconcile` prints: the import, its exceptions and the day's summary."""

from __future__ import annotations

from collections.abc import Callable

from billing.runtime import Runtime
from billing.settlement.formats import OPERATORS
from billing.settlement.models import EXCEPTIONS
from billing.settlement.service import Imported
from billing.settlement.summary import as_table, daily_summary


def print_import(runtime: Runtime, imported: Imported, echo: Callable[[str], None]) -> None:
    statement = imported.statement
    if imported.reimported:
        echo(f"already imported as {statement.id} on {statement.created_at:%Y-%m-%d %H:%M} UTC:"
             " nothing changed")  # fmt: skip
    else:
        echo(f"statement {statement.id}: {statement.line_count:,} lines from {statement.filename}")
    outcomes = statement.totals.get("outcomes", {})
    echo("  " + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in
                          sorted(outcomes.items())))  # fmt: skip
    exceptions = sum(outcomes.get(outcome.value, 0) for outcome in EXCEPTIONS)
    if exceptions:
        echo(f"  {exceptions:,} exception(s) sent to the review queue (GET /v1/review-items)")
    days = sorted({*_days(runtime, statement.id)})
    providers = {statement.provider, *OPERATORS[statement.provider]}
    with runtime.sessions() as session:
        rows = [
            row
            for day in days
            for row in daily_summary(session, day=day)
            if row.provider in providers
        ]
    for line in as_table(rows):
        echo("  " + line)


def _days(runtime: Runtime, statement_id: str) -> list[str]:
    from sqlalchemy import select

    from billing.settlement.models import StatementLine

    with runtime.sessions() as session:
        return list(
            session.execute(
                select(StatementLine.day).where(StatementLine.statement_id == statement_id)
                .distinct()
            ).scalars()
        )  # fmt: skip
