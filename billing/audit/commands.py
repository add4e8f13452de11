"""`billing audit verify`: walk the audit trail's hash chains; exit 1 at a broken link."""

from __future__ import annotations

import sys

import click

from billing.audit.verify import verify
from billing.runtime import current


def verify_command(chain: str | None, show_heads: bool) -> None:
    with current().sessions() as session:
        report = verify(session, chain)
    click.echo(
        f"{report.chains} chains, {report.events:,} chained events"
        + (f", {report.unchained:,} written before chaining" if report.unchained else "")
    )
    if show_heads:
        for name, last_hash in report.heads.items():
            click.echo(f"  head {name}: {last_hash}")
    for link in report.broken:
        click.echo(
            f"BROKEN chain {link.chain} at link {link.seq} (audit event {link.event_id}): "
            f"{link.problem}",
            err=True,
        )
    if report.intact:
        click.echo("audit trail intact")
        return
    sys.exit(1)
