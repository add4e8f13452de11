"""`billing invoice-run --period 2026-10` (the month's drafts, with a progress bar), and
`billing fiscal stuck` / `billing fiscal confirm` (`confirmation`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from billing.audit.service import SYSTEM
from billing.auth.models import Role, StaffUser
from billing.core.errors import Forbidden, MalipoError
from billing.invoicing import confirmation
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


def print_stuck() -> None:
    """`billing fiscal stuck`: one line per stuck queue head, then how to confirm it."""
    runtime = current()
    with runtime.sessions() as session:
        stuck = confirmation.stuck_receipts(session, runtime.settings)
    if not stuck:
        click.echo("no receipt is stuck: every VFD queue is empty or moving")
        return
    for s in stuck:
        click.echo(
            f"{s.number or s.invoice_id} ({s.invoice_id}) VFD {s.efd_serial} GC {s.gc} "
            f"code {s.verification_code}: {s.attempts} attempt(s), last ACK "
            f"{s.last_ack_code if s.last_ack_code is not None else '-'} "
            f"({s.last_error or 'no answer'}); {s.waiting_behind} waiting behind it"
        )
        if s.verification_url:
            click.echo(f"  check at TRA: {s.verification_url}")
    click.echo("If TRA shows the receipt: billing fiscal confirm <receipt> "
               "--verification-code <code> --by <admin e-mail>")  # fmt: skip


def confirm_receipt(receipt: str, verification_code: str, email: str, note: str) -> int:
    """`billing fiscal confirm`: as the admin named by `email`; 1 when refused."""
    runtime = current()
    try:
        with runtime.unit_of_work() as session:
            admin = session.execute(
                select(StaffUser).where(StaffUser.email == email.strip().lower())
            ).scalar()
            if admin is None or admin.role is not Role.ADMIN:
                raise Forbidden(f"{email} is not an admin: only an admin confirms a receipt")
            invoice_id = confirmation.find_receipt(session, receipt)
            invoice = confirmation.confirm(session, invoice_id, verification_code, admin.id, note)
            line = (f"{invoice.number_text} ({invoice.id}) GC {invoice.gc}: acknowledged, "
                    f"confirmed by {email} as {invoice.tra_verification}")  # fmt: skip
    except MalipoError as error:
        click.echo(f"refused: {error.detail}", err=True)
        return 1
    click.echo(line)
    return 0
