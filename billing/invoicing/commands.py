"""`billing invoice-run --period 2026-10`: the month's drafts, with a progress bar."""

from __future__ import annotations

import click

from billing.audit.service import SYSTEM
from billing.invoicing.runs import month, postpaid_tenants, run
from billing.runtime import current


def invoice_run(period: str) -> None:
    try:
        start, end = month(period)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    runtime = current()
    with runtime.unit_of_work() as session:
        tenants = postpaid_tenants(session)
        with click.progressbar(length=len(tenants), label=f"Invoicing {period}") as bar:
            result = run(
                session, f"{SYSTEM}:cli", start, end, tenants, each=lambda _t: bar.update(1)
            )
    click.echo(
        f"{period}: {len(result.created)} drafts made, {len(result.existing)} made before, "
        f"{len(result.skipped)} tenants without usage, {len(result.failed)} failed"
    )
    for tenant_id, why in result.failed.items():
        click.echo(f"  {tenant_id}: {why}", err=True)
