# ruff: noqa: F401, F811 (module-scoped fixtures imported by name)
"""A Stripe batch streams on: once its own events are asked for, a job claims the Stripe
events still waiting untouched in the inbox and applies them too (`billing.cards.batch`).

Their own jobs then find nothing to do; a row a sweep is backing off, or one of another
provider, is never taken; and a job that dies holding taken rows loses none of them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from billing.cards import batch
from billing.jobs.runner import run_batch
from billing.topups.models import CallbackDelivery
from tests.integration.topups.test_card_batch import (
    card_app,
    card_runtime,
    counts,
    fake,
    inbox_status,
    paid_topup,
    stored_event,
    writers,
)

pytestmark = pytest.mark.integration
SUCCEEDED = "payment_intent.succeeded"


def test_a_job_applies_the_events_waiting_behind_its_own(card_app, card_runtime, fake, make_tenant):
    runtime = card_runtime
    tenants = [make_tenant().tenant_id for _ in range(2)]
    topups = [paid_topup(runtime, fake, tenants[n % 2]) for n in range(6)]
    ids = [stored_event(runtime, SUCCEEDED, t.provider_ref) for t in topups]
    with card_app.app_context():
        assert run_batch("topups.reconcile", [[ids[0]], [ids[1]]]) == 2  # handed two
    assert [counts(runtime, t) for t in topups] == [(1, 1, "succeeded")] * 6
    assert inbox_status(runtime, ids) == ["applied"] * 6
    assert writers(runtime, topups) == 1  # the waiting ones joined the job's part
    with card_app.app_context():  # their own jobs come after: nothing left to do
        assert run_batch("topups.reconcile", [[i] for i in ids[2:]]) == 4
    assert [counts(runtime, t) for t in topups] == [(1, 1, "succeeded")] * 6


def test_rows_backing_off_or_of_other_providers_are_not_taken(
    card_app, card_runtime, fake, make_tenant
):
    runtime = card_runtime
    tenant_id = make_tenant().tenant_id
    mine, retried, other = (paid_topup(runtime, fake, tenant_id) for _ in range(3))
    own = stored_event(runtime, SUCCEEDED, mine.provider_ref)
    backing_off = stored_event(runtime, SUCCEEDED, retried.provider_ref)
    foreign = stored_event(runtime, SUCCEEDED, other.provider_ref)
    with runtime.sessions.begin() as session:
        session.execute(  # a sweep tried it once: its backoff is the sweep's to keep
            update(CallbackDelivery).where(CallbackDelivery.id == backing_off).values(attempts=1)
        )
        session.execute(  # as if another provider's row: not this family's to take
            update(CallbackDelivery).where(CallbackDelivery.id == foreign).values(provider="mpesa")
        )
    with card_app.app_context():
        assert run_batch("topups.reconcile", [[own]]) == 1
    assert inbox_status(runtime, [own, backing_off, foreign]) == ["applied", "received", "received"]
    assert counts(runtime, retried) == (0, 0, "pending")
    with runtime.sessions.begin() as session:  # no later test's sweep should meet them
        session.execute(
            update(CallbackDelivery)
            .where(CallbackDelivery.id.in_([backing_off, foreign]))
            .values(status="rejected")
        )


def test_a_part_that_fails_leaves_the_taken_rows_to_their_own_jobs(
    card_app, card_runtime, fake, make_tenant, monkeypatch
):
    runtime = card_runtime
    tenant_id = make_tenant().tenant_id
    topups = [paid_topup(runtime, fake, tenant_id) for _ in range(6)]
    ids = [stored_event(runtime, SUCCEEDED, t.provider_ref) for t in topups]
    # A worker killed mid-batch is this too: its transaction gone, its taken rows `applying`.
    monkeypatch.setattr(batch, "PART_MIN", 2)
    monkeypatch.setattr(batch, "PART_MAX", 2)
    real, parts = batch._apply_all, []

    def fails_in_the_second_part(session, ready):
        parts.append([inbox_id for inbox_id, _, _ in ready])
        if len(parts) == 2:
            raise RuntimeError("the database went away")
        real(session, ready)

    monkeypatch.setattr(batch, "_apply_all", fails_in_the_second_part)
    with card_app.app_context(), pytest.raises(RuntimeError, match="went away"):
        batch.reconcile_events([ids[0]])
    assert parts == [ids[:2], ids[2:4]]  # its own event first, then those waiting
    statuses = inbox_status(runtime, ids)
    assert statuses == ["applied"] * 2 + ["applying"] * 4  # taken, not applied, not lost
    monkeypatch.setattr(batch, "_apply_all", real)
    with card_app.app_context():  # their own jobs (or the sweep) apply them, once
        assert run_batch("topups.reconcile", [[i] for i in ids]) == len(ids)
    assert [counts(runtime, t) for t in topups] == [(1, 1, "succeeded")] * 6
    assert inbox_status(runtime, ids) == ["applied"] * 6
