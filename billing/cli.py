"""The `billing` command: migrations, staff, the HTTP service and the worker."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from billing.app import create_app
from billing.auth.models import STAFF_ROLES, Role
from billing.invoicing.fiscal_cli import fiscal as fiscal_commands
from billing.jobs.queues import QUEUES
from billing.runtime import current


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def main() -> None:
    """Malipo billing service."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations (as MALIPO_DATABASE_OWNER_URL's role when set) and grant
    DATABASE_URL's role what the service needs."""
    from sqlalchemy import make_url

    from billing.schema import grant_service_role, upgrade

    settings = current().settings
    upgrade(settings.database_owner_url or settings.database_url, revision)
    if settings.database_owner_url:
        grant_service_role(settings.database_owner_url, make_url(settings.database_url).username)
    click.echo(f"database at {revision}")


@main.command("create-staff")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(sorted(r.value for r in STAFF_ROLES)), required=True)
@with_appcontext
def create_staff(email: str, role: str) -> None:
    """Create a staff user and print its API key (shown once)."""
    from billing.auth.service import create_staff as create

    with current().unit_of_work() as session:
        user, token = create(session, email=email, role=Role(role))
    click.echo(f"staff user {user.id} ({user.role.value})")
    click.echo(f"api key (shown once): {token}")


@main.command("staff-sign-in")
@click.option("--email", required=True)
@click.password_option(help="at least 12 characters")
@with_appcontext
def staff_sign_in(email: str, password: str) -> None:
    """Set a staff member's back-office password; prints the TOTP secret and recovery codes once."""
    from billing.backoffice.enrolment import enrol_by_email

    enrolment = enrol_by_email(current().unit_of_work, email, password)
    click.echo(f"TOTP secret: {enrolment.totp_secret}\n{enrolment.totp_uri}")
    click.echo("Recovery codes (each works once):\n" + "\n".join(enrolment.recovery_codes))


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", type=int, help="server processes (default: 2; 1 in sandbox mode)")
@with_appcontext
def serve(host: str, port: int, workers: int | None) -> None:
    """Run the HTTP service under Granian."""
    from billing.processes.serve import run

    _refuse_incomplete_settings()
    _drain_spool_at_start()
    # The simulators keep their payments in memory: one process must see them all.
    sandbox = current().settings.provider_mode == "sandbox"
    run(host, port, workers or (1 if sandbox else 2))


def _drain_spool_at_start() -> None:
    """Callbacks spooled before a stop go into the inbox now, if the database is here."""
    from billing.topups.spool import drain_into_inbox

    drained = drain_into_inbox(current())
    current().relayer.flush()
    if drained.waiting:
        click.echo(f"{drained.waiting} spooled callbacks wait for the database", err=True)


@main.command("ledger-audit")
@with_appcontext
def ledger_audit() -> None:
    """Prove the ledger now (each balance = its entries, every transaction balanced):
    after a restore, before the service starts again. Exit 1 on any discrepancy."""
    from billing.ledger.integrity import find_discrepancies

    with current().sessions() as session:
        found = find_discrepancies(session)
    for discrepancy in found:
        click.echo(f"{discrepancy.rule}: {discrepancy.subject}: {discrepancy.detail}")
    click.echo(f"ledger audit: {len(found)} discrepancies" if found else "ledger audit: passed")
    sys.exit(1 if found else 0)


@main.group()
def spool() -> None:
    """Callbacks kept on disk while the database was unavailable."""


@spool.command("status")
@with_appcontext
def spool_status() -> None:
    """How many spooled callbacks wait to be drained into the inbox."""
    from billing.topups.spool import spool_for

    settings = current().settings
    click.echo(f"{spool_for(settings).count()} waiting in {settings.spool_dir}")


@spool.command("drain")
@with_appcontext
def spool_drain() -> None:
    """Move spooled callbacks into the inbox (exit 1 if some still wait)."""
    from billing.topups.spool import drain_into_inbox

    drained = drain_into_inbox(current())
    current().relayer.flush()
    click.echo(f"{drained.stored} stored, {drained.waiting} waiting, {drained.parked} parked")
    sys.exit(1 if drained.waiting else 0)


@main.command("worker")
@click.option("--burst", is_flag=True, help="work until the queues are empty, then exit")
@click.option(
    "--fork",
    is_flag=True,
    help="run each job in a forked work-horse (RQ's default Worker): isolated, ~0.1 s slower",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUES),
    help="serve only this queue (repeatable; default: all, in priority order)",
)
@with_appcontext
def worker(burst: bool, fork: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker on Malipo's queues, with the scheduler and the ticker.

    Jobs run in the worker process, the PDF engine warmed up once; `--fork` gives each
    job a work-horse of its own instead."""
    from flask import current_app

    from billing.worker import run

    if current().redis is None:
        click.echo("REDIS_URL is not set: jobs already run in-process after commit.", err=True)
        sys.exit(2)
    _refuse_incomplete_settings()
    ordered = tuple(name for name in QUEUES if name in queues) or QUEUES
    run(current_app._get_current_object(), burst=burst, fork=fork, queues=ordered)


def _refuse_incomplete_settings() -> None:
    """Live mode without what it needs must not start, say ready and fail each payment:
    exit naming every missing setting (names only: values may be secrets)."""
    from billing.core.live_checks import (
        missing_privacy_settings,
        missing_smtp_settings,
        missing_vfd_settings,
    )

    runtime = current()
    missing = missing_vfd_settings(runtime.settings) + missing_smtp_settings(runtime.settings)
    missing += missing_privacy_settings(runtime.settings)
    if runtime.settings.provider_mode == "live":
        if not runtime.gateways.enabled:
            missing.append("MALIPO_PROVIDER_SETTINGS (no provider is configured)")
        missing += runtime.gateways.missing_settings()
    elif runtime.settings.provider_mode != "sandbox":
        missing.append("MALIPO_PROVIDER_MODE (sandbox or live)")
    if missing:
        click.echo("refusing to start: these settings are missing or invalid:", err=True)
        for name in missing:
            click.echo(f"  {name}", err=True)
        sys.exit(78)  # EX_CONFIG


@main.group()
def seal() -> None:
    """Secrets at rest (MALIPO_SEAL_KEYS, newest first)."""


@seal.command("new-key")
def seal_new_key() -> None:
    """Print a fresh key: put it in front of MALIPO_SEAL_KEYS, then `billing seal rotate`."""
    from billing.core.sealing import new_key

    click.echo(new_key())


@seal.command("rotate")
@with_appcontext
def seal_rotate() -> None:
    """Reseal every stored secret under the newest key; the old key can then be removed."""
    from billing.privacy.sealed import reseal_all

    with current().unit_of_work() as session:
        count = reseal_all(session)
    click.echo(f"{count} sealed values resealed under the newest key")


@main.group()
def retention() -> None:
    """Retention of personal data (MALIPO_RETENTION_DAYS)."""


@retention.command("run")
@with_appcontext
def retention_run() -> None:
    """Apply the retention rules now (the worker does it daily) and print what was done."""
    import json

    from billing.core.clock import utcnow
    from billing.privacy.retention import apply

    with current().unit_of_work() as session:
        report = apply(session, current().settings, utcnow())
    click.echo(json.dumps(report, indent=2, sort_keys=True))


@main.command("invoice-run")
@click.option("--period", required=True, help="the month to invoice, YYYY-MM (e.g. 2026-10)")
@with_appcontext
def invoice_run(period: str) -> None:
    """Draft the month's invoice for every postpaid tenant (a repeat makes none twice)."""
    from billing.invoicing.commands import invoice_run as run

    run(period)


main.add_command(fiscal_commands)


@main.command("aged-receivables")
@click.option("--as-of", help="the day to age at, YYYY-MM-DD (default: today, EAT)")
@with_appcontext
def aged_receivables(as_of: str | None) -> None:
    """What each tenant owes by the age of its invoices; totals beside the ledger's."""
    from billing.dunning.commands import aged_receivables_report

    aged_receivables_report(as_of)


@main.command("load-destinations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def load_destinations(path: str) -> None:
    """Load a destination prefix CSV: all rows or none; bad lines are listed."""
    from billing.tariffs.commands import load_destinations_command

    sys.exit(load_destinations_command(current(), path, click.echo))


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--chain", help="one chain, e.g. tenant:ten_… or platform (default: all)")
@click.option("--heads", is_flag=True, help="print each chain's last hash, to keep elsewhere")
@with_appcontext
def audit_verify(chain: str | None, heads: bool) -> None:
    """Check the hash chains; name the first broken link of each (exit 1)."""
    from billing.audit.commands import verify_command

    verify_command(chain, heads)


@main.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create a demo admin and a funded demo tenant, and print their keys."""
    from billing.demo import seed

    keys = seed()
    url = current().settings.public_url
    click.echo(f"admin key:        {keys.admin_key}")
    click.echo(f"demo tenant:      {keys.tenant_id}")
    click.echo(f"tenant key:       {keys.tenant_key}")
    click.echo(f"try:  curl -H 'Authorization: Bearer {keys.tenant_key}' {url}/v1/wallet")
    _print_web_access(keys.tenant_id, url)


def _print_web_access(tenant_id: str, url: str) -> None:
    """The portal link for the demo tenant (one use, 5 minutes) and a staff sign-in."""
    from billing.backoffice.enrolment import demo_access

    access = demo_access(current().unit_of_work, url, tenant_id)
    click.echo(f"tenant portal:    {access.portal_url}  (open once, within 5 minutes)")
    click.echo(f"back office:      {url}/office/sign-in")
    click.echo(f"  e-mail {access.staff_email}  password {access.staff_password}")
    click.echo(f"  TOTP secret {access.enrolment.totp_secret} (add it to an authenticator app)")
    click.echo(f"  recovery code {access.enrolment.recovery_codes[0]}")
    click.echo(f"docs: {url}/docs")


@main.command("demo")
@click.option("--port", default=0, show_default=True, help="loopback port (0: a free one)")
@with_appcontext
def demo(port: int) -> None:
    """Walk through everything Malipo does, on the configured database."""
    from billing.demo import walkthrough

    walkthrough(current().settings, click.echo, port)


@main.command("import-cdrs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["asterisk", "freeswitch", "generic"]), required=True
)
@click.option("--tenant", "tenant_id", help="every row's tenant (default: each row's account code)")
@click.option("--newcdrcolumns", is_flag=True, help="Asterisk: peeraccount, linkedid, sequence")
@click.option("--no-uniqueid", is_flag=True, help="Asterisk: written without loguniqueid")
@click.option("--no-userfield", is_flag=True, help="Asterisk: written without loguserfield")
@click.option("--usegmtime", is_flag=True, help="Asterisk: stamps in UTC, not local time")
@click.option("--template", type=click.Choice(["example", "asterisk"]), default="example",
              help="FreeSWITCH mod_cdr_csv template")  # fmt: skip
@click.option("--timezone", default="Africa/Dar_es_Salaam", help="the switch's local zone")
@with_appcontext
def import_cdrs(
    path: str, fmt: str, tenant_id: str | None, newcdrcolumns: bool, no_uniqueid: bool,
    no_userfield: bool, usegmtime: bool, template: str, timezone: str,
) -> None:  # fmt: skip
    """Store a CDR file's rows for rating, streamed, with a progress bar."""
    from billing.usage.imports import ImportOptions, import_file

    options = ImportOptions(
        loguniqueid=not no_uniqueid,
        loguserfield=not no_userfield,
        newcdrcolumns=newcdrcolumns,
        usegmtime=usegmtime,
        template=template,
        timezone=timezone,
    )
    summary = import_file(
        current(), path, fmt, tenant_id=tenant_id, options=options, show_progress=True
    )
    click.echo(summary.line())
    for sample in summary.rejected_samples[:10]:
        click.echo(f"  rejected {sample['source_id']}: {sample['reason']}")


@main.command("reconcile")
@click.option(
    "--provider",
    "fmt",
    required=True,
    type=click.Choice(["mpesa", "tigopesa", "airtelmoney", "selcom", "stripe"]),
    help="the statement's format: the operator's, or selcom for the aggregator's report;"
    " stripe: Stripe's payouts, pulled from Stripe (no file)",
)
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--since", help="stripe: payouts created from this day, YYYY-MM-DD")
@click.option("--until", help="stripe: … up to this day, exclusive")
@with_appcontext
def reconcile(fmt: str, path: str | None, since: str | None, until: str | None) -> None:
    """Import a provider's settlement statement, match it to the top-ups and the ledger,
    and print the summary (the same file twice changes nothing). With `--provider
    stripe`, Stripe's payouts instead (as `billing stripe-payouts`)."""
    from billing.audit.service import SYSTEM
    from billing.core.errors import InvalidInput
    from billing.settlement.commands import print_import
    from billing.settlement.jobs import import_file

    if fmt == "stripe":
        _reconcile_stripe_payouts(since, until)
        return
    if path is None:
        raise click.UsageError("a statement file is needed for this provider")
    try:
        imported = import_file(current(), path, fmt, actor=f"cli:{SYSTEM}")
    except InvalidInput as error:
        click.echo(f"refused: {error.detail}", err=True)
        sys.exit(1)
    print_import(current(), imported, click.echo)


@main.command("stripe-payouts")
@click.option("--since", help="payouts created from this day, YYYY-MM-DD (default: 7 days ago)")
@click.option("--until", help="… up to this day, exclusive (default: tomorrow)")
@with_appcontext
def stripe_payouts(since: str | None, until: str | None) -> None:
    """Pull Stripe's automatic payouts of the range, reconcile each against the ledger
    (once) and print each one's lines and totals; exceptions go to the review queue."""
    _reconcile_stripe_payouts(since, until)


def _reconcile_stripe_payouts(since: str | None, until: str | None) -> None:
    from billing.audit.service import SYSTEM
    from billing.core.errors import MalipoError
    from billing.settlement.payouts.commands import day_range, print_payouts
    from billing.settlement.payouts.service import reconcile_range

    try:
        start, end = day_range(since, until)
        done = reconcile_range(current(), start, end, actor=f"cli:{SYSTEM}")
    except MalipoError as error:
        click.echo(f"refused: {error.detail}", err=True)
        sys.exit(1)
    print_payouts(current(), done, click.echo)


@main.command("settlement-summary")
@click.option("--day", help="the statement day, YYYY-MM-DD (default: yesterday, EAT)")
@click.option("--provider", help="one provider (default: all)")
@with_appcontext
def settlement_summary(day: str | None, provider: str | None) -> None:
    """Per provider and day: lines, matched, exceptions, gross, fees, net, paid to bank."""
    from billing.settlement.jobs import previous_day
    from billing.settlement.summary import as_table, daily_summary

    with current().sessions() as session:
        rows = daily_summary(session, day=day or previous_day().isoformat(), provider=provider)
    for line in as_table(rows):
        click.echo(line)
