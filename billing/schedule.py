"""What the worker does on a clock."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from billing.balance_adjustments.service import expire_pending
from billing.cards.autorecharge import sweep as auto_recharge_sweep
from billing.core.clock import utcnow
from billing.dunning.service import run as run_dunning
from billing.invoicing.jobs import sweep as fiscal_sweep
from billing.invoicing.jobs import zreport_sweep
from billing.jobs.leases import leased
from billing.jobs.outbox import relay
from billing.jobs.ticker import Periodic
from billing.ledger.jobs import request_daily_audit
from billing.privacy import retention
from billing.runtime import EXTENSION
from billing.settlement.jobs import request_daily_reconciliation
from billing.settlement.payouts.jobs import request_payout_reconciliation
from billing.topups.jobs import sweep
from billing.topups.spool import drain_into_inbox
from billing.usage.jobs import retry as retry_usage
from billing.usage.reservations import expire as expire_reservations


def periodic_tasks(app: Flask) -> list[Periodic]:
    runtime = app.extensions[EXTENSION]

    def in_app(task: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            with app.app_context():
                task()

        return run

    def expire_held() -> None:
        with runtime.unit_of_work() as session:
            expire_reservations(session)

    def dunning() -> None:
        with runtime.unit_of_work() as session:
            run_dunning(session, runtime.settings)

    def request_audit() -> None:
        with runtime.unit_of_work() as session:
            request_daily_audit(session)

    def expire_adjustments() -> None:
        with runtime.unit_of_work() as session:
            expire_pending(session)

    def request_retention() -> None:
        with runtime.unit_of_work() as session:
            retention.request_daily(session, utcnow().date())

    cluster_wide = [  # each run by one worker a period, however many tick (leases)
        Periodic("topups.sweep", 5.0, in_app(sweep)),
        Periodic("invoicing.fiscal_sweep", 10.0, in_app(fiscal_sweep)),
        # Yesterday's Z report, once its receipts are in; unacknowledged ones resent.
        Periodic("invoicing.zreport_sweep", 600.0, in_app(zreport_sweep)),
        Periodic("ledger.request_daily_audit", 3600.0, request_audit),
        # Overdue invoices: reminders on the schedule, restriction past grace, lifting.
        Periodic("dunning.run", 300.0, in_app(dunning)),
        Periodic("privacy.request_daily_retention", 3600.0, request_retention),
        # Unbilled prepaid usage is settled once a top-up lands; fixable rejects re-rated.
        Periodic("usage.retry", 30.0, in_app(retry_usage)),
        # Wallets below their auto-recharge threshold: one off-session card charge each.
        Periodic("cards.auto_recharge", 2.0, in_app(auto_recharge_sweep)),
        # Manual adjustments no second staff member decided in time.
        Periodic("adjustments.expire", 300.0, expire_adjustments),
        # Yesterday's settlement statements from the drop folder, each once.
        Periodic("settlement.daily", 3600.0, lambda: request_daily_reconciliation(runtime)),
        # Stripe's payouts of the last days against the ledger, each once.
        Periodic(
            "settlement.stripe_payouts", 3600.0, lambda: request_payout_reconciliation(runtime)
        ),
        # Reservations past their time (they count no more already) are closed.
        Periodic("usage.expire_reservations", 60.0, expire_held),
    ]
    return [
        # In every process: leftovers relayed (cheap, SKIP LOCKED), and this host's spool
        # of callbacks that came while the database was away drained into the inbox.
        Periodic("outbox.relay", 1.0, lambda: relay(runtime.sessions, runtime.queue)),
        Periodic("topups.spool_drain", 2.0, lambda: drain_into_inbox(runtime)),
        *(leased(runtime.sessions, task) for task in cluster_wide),
    ]
