"""Stripe's payouts reconciled on a clock: once an hour the ticker asks for the payouts of
the last days to be matched, each once (a payout reconciled before is skipped), so
finance finds yesterday's payout report without running `billing stripe-payouts`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from billing.audit.service import SYSTEM
from billing.core.clock import utcnow
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.runtime import Runtime, current
from billing.settlement.payouts.service import reconcile_range
from billing.topups.gateways import CARD

log = logging.getLogger(__name__)
# Stripe creates an automatic payout a day or more after the charges it pays; a payout
# seen late (Stripe or Malipo away for a while) is still picked up within this window.
LOOKBACK = timedelta(days=7)


def request_payout_reconciliation(runtime: Runtime, now: datetime | None = None) -> bool:
    """Ask for the recent payouts to be reconciled, at most once an hour (however many
    workers tick); False when card payments are off here or the hour's request was made."""
    if CARD not in runtime.gateways.enabled:
        return False
    with runtime.unit_of_work() as session:
        hour = (now or utcnow()).strftime("%Y-%m-%dT%H")
        return (
            defer(session, "settlement.stripe_payouts", dedupe_key=f"stripe-payouts:{hour}")
            is not None
        )


@job("settlement.stripe_payouts")
def reconcile_recent_payouts() -> None:
    # Stripe's `created` is in whole seconds: a payout of this very second is included.
    until = utcnow() + timedelta(seconds=1)
    done = reconcile_range(current(), until - LOOKBACK, until, actor=SYSTEM)
    new = [r.payout.id for r in done if not r.reimported]
    log.info("stripe payouts: %d reconciled now, %d before", len(new), len(done) - len(new))
