"""`billing fiscal stuck` and `billing fiscal confirm` (`billing.invoicing.confirmation`);
the work is imported when a command runs, so the CLI starts without it."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group()
def fiscal() -> None:
    """Fiscal receipts at TRA: what is stuck, and confirming what TRA holds."""


@fiscal.command("stuck")
@with_appcontext
def fiscal_stuck() -> None:
    """Each VFD's queue head TRA has not acknowledged, and what waits behind it."""
    from billing.invoicing.commands import print_stuck

    print_stuck()


@fiscal.command("confirm")
@click.argument("receipt")
@click.option(
    "--verification-code",
    required=True,
    help="TRA's code for it (RCTVNUM, RCTVNUM_HHMMSS or the verify link)",
)
@click.option("--by", "email", required=True, help="the admin confirming it (staff e-mail)")
@click.option("--note", default="", help="what was checked, for the audit trail")
@with_appcontext
def fiscal_confirm(receipt: str, verification_code: str, email: str, note: str) -> None:
    """Confirm that TRA holds RECEIPT (id, number or RCTVNUM) after checking TRA's
    verification page; its queue then moves on."""
    from billing.invoicing.commands import confirm_receipt

    sys.exit(confirm_receipt(receipt, verification_code, email, note))
