"""`billing aged-receivables [--as-of DATE]`: the report on the terminal."""

from __future__ import annotations

from datetime import date
from functools import partial

import click

from billing.dunning import aging, service
from billing.dunning.schedule import AGE_BUCKETS
from billing.runtime import current
from invoices.pdf import numbers


def aged_receivables_report(as_of: str | None) -> None:
    day = date.fromisoformat(as_of) if as_of else service.today_in_tanzania()
    with current().sessions() as session:
        rows = aging.aged_receivables(session, day)
    names = [name for _low, _high, name in AGE_BUCKETS]
    click.echo(f"Aged receivables as of {day.isoformat()} (days since issue)")
    click.echo(f"{'tenant':<30} {'cur':<4}" + "".join(f"{n:>14}" for n in names)
               + f"{'total':>15}{'overdue':>14}  ledger")  # fmt: skip
    for row in rows:
        money = partial(_money, currency=row.currency)
        mark = "=" if row.matches_ledger else f"≠ {money(row.ledger_receivable)}"
        click.echo(f"{row.tenant_id:<30} {row.currency:<4}"
                   + "".join(f"{money(row.buckets[n]):>14}" for n in names)
                   + f"{money(row.total):>15}{money(row.overdue):>14}  {mark}")  # fmt: skip
    for currency, values in aging.totals(rows).items():
        money = partial(_money, currency=currency)
        click.echo(f"{'TOTAL':<30} {currency:<4}"
                   + "".join(f"{money(values.get(n, 0)):>14}" for n in names)
                   + f"{money(values['total']):>15}{money(values['overdue']):>14}"
                   + f"  ledger {money(values['ledger_receivable'])}")  # fmt: skip


def _money(minor: int, currency: str) -> str:
    return numbers.amount(minor, currency)
