"""What the worker does on a clock, wired with the runtime it runs against."""

from __future__ import annotations

from billing.jobs.outbox import relay
from billing.jobs.ticker import Periodic
from billing.ledger.jobs import request_daily_audit
from billing.runtime import Runtime


def periodic_tasks(runtime: Runtime) -> list[Periodic]:
    def request_audit() -> None:
        with runtime.unit_of_work() as session:
            request_daily_audit(session)

    return [
        Periodic("outbox.relay", 1.0, lambda: relay(runtime.sessions, runtime.queue)),
        Periodic("ledger.request_daily_audit", 3600.0, request_audit),
    ]
