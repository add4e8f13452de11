"""What the worker does on a clock."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from billing.core.clock import utcnow
from billing.invoicing.jobs import sweep as fiscal_sweep
from billing.invoicing.jobs import zreport_sweep
from billing.jobs.outbox import relay
from billing.jobs.ticker import Periodic
from billing.ledger.jobs import request_daily_audit
from billing.privacy import retention
from billing.runtime import EXTENSION
from billing.topups.jobs import sweep
from billing.topups.spool import drain_into_inbox
from billing.usage.jobs import retry as retry_usage


def periodic_tasks(app: Flask) -> list[Periodic]:
    runtime = app.extensions[EXTENSION]

    def in_app(task: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            with app.app_context():
                task()

        return run

    def request_audit() -> None:
        with runtime.unit_of_work() as session:
            request_daily_audit(session)

    def request_retention() -> None:
        with runtime.unit_of_work() as session:
            retention.request_daily(session, utcnow().date())

    return [
        Periodic("outbox.relay", 1.0, lambda: relay(runtime.sessions, runtime.queue)),
        # Callbacks spooled to disk while the database was away go into the inbox.
        Periodic("topups.spool_drain", 2.0, lambda: drain_into_inbox(runtime)),
        Periodic("topups.sweep", 5.0, in_app(sweep)),
        Periodic("invoicing.fiscal_sweep", 10.0, in_app(fiscal_sweep)),
        # Yesterday's Z report, once its receipts are in; unacknowledged ones resent.
        Periodic("invoicing.zreport_sweep", 600.0, in_app(zreport_sweep)),
        Periodic("ledger.request_daily_audit", 3600.0, request_audit),
        Periodic("privacy.request_daily_retention", 3600.0, request_retention),
        # Unbilled prepaid usage is settled once a top-up lands; fixable rejects re-rated.
        Periodic("usage.retry", 30.0, in_app(retry_usage)),
    ]
