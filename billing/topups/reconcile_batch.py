"""Reconciling a burst of callbacks in one transaction.

Alone, a callback costs a transaction of its own: a connection check-out, BEGIN, the
claim, about ten statements and a COMMIT that waits for the WAL. When callbacks arrive
in bursts, the outbox relays them together (`topups.reconcile` is batchable), and this
handler applies the batch in one transaction:

- the claim is one UPDATE for the whole batch, and the top-ups are locked by one
  SELECT, in (tenant, id) order;
- each callback is judged by the one rule (`billing.topups.trust.judge`);
- plain credits (a proven callback paying a pending top-up exactly) are applied
  set-based (`billing.topups.credits`): a few statements for the whole burst;
- other callbacks that need no word from the provider (proven ones, contradictions,
  repeats) are applied one by one, in tenant order;
- an unproven callback must be confirmed by a status query, and no lock may be held
  while the provider is asked: it is left claimed for the one-at-a-time path.

If anything fails (a deadlock with another path included), the transaction rolls back
whole and the runner reconciles each callback alone, so one bad row cannot hold up the
rest.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import update

from billing.jobs.registry import batch_handler
from billing.runtime import current
from billing.topups.credits import Credit, credit_all, is_plain_credit, lock_topups
from billing.topups.jobs import FAMILY_BATCHES, FAMILY_RECONCILERS, apply_callback, can_query
from billing.topups.models import CallbackDelivery, InboxStatus
from billing.topups.trust import Claim, Verdict, judge

_inbox = CallbackDelivery.__table__


@batch_handler("topups.reconcile")
def reconcile_together(arg_lists: list[list[Any]]) -> list[list[Any]]:
    """Apply what can be applied at once; return the callbacks left to reconcile alone."""
    runtime = current()
    ids = [args[0] for args in arg_lists]
    later: list[list[Any]] = []
    families: dict[str, list[int]] = {}
    with runtime.unit_of_work() as session:
        claims = []
        for row in _claim(session, ids):
            if row.provider in FAMILY_RECONCILERS:  # its own capability reconciles it
                families.setdefault(row.provider, []).append(row.id)
            else:
                claims.append((row.id, Claim.of(row.provider, row.event)))
        topups = lock_topups(session, [claim.our_reference for _id, claim in claims])
        seen = Counter(claim.our_reference for _id, claim in claims)
        credits, one_by_one = [], []
        for inbox_id, claim in claims:
            topup = topups.get(claim.our_reference)
            verdict = judge(topup, claim, can_query=can_query(topup)).verdict
            if verdict is Verdict.CONFIRM:
                later.append([inbox_id])
            elif (
                verdict is Verdict.APPLY
                and seen[claim.our_reference] == 1
                and is_plain_credit(topup, outcome := claim.as_outcome())
            ):
                credits.append(Credit(inbox_id, topup, outcome))
            else:  # twice in one burst, a failure, a contradiction, an unknown reference…
                one_by_one.append((topup.tenant_id if topup else "", inbox_id, claim))
        credit_all(session, credits)
        for _tenant, inbox_id, claim in sorted(one_by_one, key=lambda item: item[:2]):
            apply_callback(session, inbox_id, claim)
    for family, family_ids in families.items():  # after the commit: no lock held
        batch = FAMILY_BATCHES.get(family)
        left = batch(family_ids) if batch is not None else family_ids
        later += [[inbox_id] for inbox_id in left]
    return later


def _claim(session, ids: list[int]) -> list:
    return session.execute(
        update(_inbox)
        .where(
            _inbox.c.id.in_(ids),
            _inbox.c.status.in_((InboxStatus.RECEIVED, InboxStatus.APPLYING)),
        )
        .values(status=InboxStatus.APPLYING)
        .returning(_inbox.c.id, _inbox.c.provider, _inbox.c.event)
    ).all()
