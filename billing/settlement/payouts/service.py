"""Reconciling Stripe payouts: pulled from Stripe first (no transaction open), then each
payout matched and stored in one transaction of its own, once.

A payout already reconciled answers with the first reconciliation (`reimported`);
its exceptions go to the review queue as `payout_<outcome>` items, as a statement's do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.db import insert_for
from billing.core.errors import InvalidInput, NotFound, ProviderUnavailable
from billing.runtime import Runtime
from billing.settlement.payouts import lines, matching
from billing.settlement.payouts.models import PAYOUT_EXCEPTIONS, PayoutLine, StripePayout
from billing.topups.gateways import CARD
from billing.topups.models import ReviewItem, ReviewStatus
from providers.stripe import wire

_payouts = StripePayout.__table__
SKIPPED = ("failed", "canceled")  # no money arrived: nothing to reconcile


@dataclass(frozen=True)
class Reconciled:
    payout: StripePayout
    reimported: bool  # True: reconciled before; nothing changed


def stripe_api(runtime: Runtime) -> Any:
    if CARD not in runtime.gateways.enabled:
        raise InvalidInput.on("provider", "card payments (Stripe) are not configured")
    return runtime.gateways.adapter(CARD).api


def pull(api: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Stripe's automatic payouts created in [since, until), oldest first."""
    if until <= since:
        raise InvalidInput.on("until", "must be after since")
    try:
        found = api.list_payouts({"gte": int(since.timestamp()), "lt": int(until.timestamp())})
    except Exception as error:  # stripe's errors: network, auth, rate limit
        raise ProviderUnavailable(f"Stripe did not list payouts: {type(error).__name__}") from None
    chosen = [p for p in found if p.get("automatic") and p.get("status") not in SKIPPED]
    # Stripe lists newest first; payouts of one second keep its order (their ids are
    # random, so sorting on them would reconcile a newer payout before an older one).
    return sorted(reversed(chosen), key=lambda p: p["created"])


def transactions_of(api: Any, payout_id: str) -> list[dict[str, Any]]:
    try:
        return api.list_payout_transactions(payout_id)
    except Exception as error:
        reason = type(error).__name__
        raise ProviderUnavailable(f"Stripe did not list {payout_id}: {reason}") from None


def reconcile_range(
    runtime: Runtime, since: datetime, until: datetime, *, actor: str
) -> list[Reconciled]:
    """Every automatic payout of the range, each in a transaction of its own."""
    api = stripe_api(runtime)
    done = []
    for payout in pull(api, since, until):
        with runtime.sessions() as session:
            known = session.get(StripePayout, payout["id"])
        if known is not None:
            done.append(Reconciled(known, reimported=True))
            continue
        txns = transactions_of(api, payout["id"])
        with runtime.unit_of_work() as session:
            reconciled = reconcile_payout(session, payout, txns, actor=actor)
            session.flush()
            session.expunge(reconciled.payout)
        done.append(reconciled)
    return done


def _at(stamp: int) -> datetime:
    return datetime.fromtimestamp(int(stamp), UTC)


def reconcile_payout(
    session: Session, payout: dict[str, Any], txns: list[dict[str, Any]], *, actor: str
) -> Reconciled:
    """Match one payout's balance transactions to the ledger in `session`'s transaction."""
    currency = str(payout["currency"]).upper()
    amount = wire.from_stripe_amount(int(payout["amount"]), currency)
    inserted = session.execute(
        insert_for(session, _payouts)
        .values(
            id=payout["id"],
            currency=currency,
            amount_minor=amount,
            status=str(payout.get("status") or ""),
            automatic=bool(payout.get("automatic")),
            created_at=_at(payout["created"]),
            arrival_at=_at(payout["arrival_date"]),
            totals={},
            reconciled_by=actor,
            reconciled_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(_payouts.c.id)
    ).first()
    if inserted is None:
        existing = session.get(StripePayout, payout["id"])
        assert existing is not None
        return Reconciled(existing, reimported=True)
    row = session.get(StripePayout, payout["id"])
    assert row is not None
    found = [lines.txn_of(txn) for txn in txns]
    ledger = matching.Ledger(session, found)
    rows = [matching.line_for(ledger, payout["id"], txn) for txn in found]
    rows += matching.not_in_payout(session, row, found)
    session.add_all(rows)
    session.flush()
    _open_review_items(session, rows, payout["id"])
    money = lines.totals(found, amount)
    row.totals = {
        **money.as_dict(),
        "lines": len(rows),
        "outcomes": dict(sorted(Counter(str(r.outcome) for r in rows).items())),
    }
    record(
        session, actor=actor, action="settlement.payout_reconciled",
        subject_type="stripe_payout", subject_id=payout["id"][:60],
        detail={"amount": amount, "currency": currency, "outcomes": row.totals["outcomes"],
                "reconciles": money.reconciles},
    )  # fmt: skip
    return Reconciled(row, reimported=False)


def _open_review_items(session: Session, rows: list[PayoutLine], payout_id: str) -> None:
    for line in rows:
        if line.outcome not in PAYOUT_EXCEPTIONS:
            continue
        item_id = f"rev_po{line.id}"
        session.add(
            ReviewItem(
                id=item_id,
                kind=f"payout_{line.outcome}",
                tenant_id=line.tenant_id,
                topup_id=line.topup_id,
                summary=(f"payout {line.outcome.replace('_', ' ')}: {line.kind} "
                         f"{line.source_id or line.balance_transaction_id}")[:300],
                detail={
                    "payout_id": payout_id, "line_id": line.id, "kind": line.kind,
                    "balance_transaction_id": line.balance_transaction_id,
                    "source_id": line.source_id, "currency": line.currency,
                    "gross": line.gross_minor, "fee": line.fee_minor, "net": line.net_minor,
                    "expected_gross": line.expected_gross_minor,
                    "expected_fee": line.expected_fee_minor, "note": line.note,
                    "ledger_transaction_id": line.ledger_transaction_id,
                },
                status=ReviewStatus.OPEN,
                created_at=utcnow(),
            )
        )  # fmt: skip
        line.review_item_id = item_id
    session.flush()


def get_payout(session: Session, payout_id: str) -> StripePayout:
    payout = session.get(StripePayout, payout_id)
    if payout is None:
        raise NotFound(f"payout {payout_id} not found")
    return payout


def list_payouts(session: Session, *, limit: int) -> list[StripePayout]:
    query = select(StripePayout).order_by(StripePayout.created_at.desc(), StripePayout.id.desc())
    return list(session.execute(query.limit(limit)).scalars())


def lines_of(session: Session, payout_id: str) -> list[PayoutLine]:
    query = select(PayoutLine).where(PayoutLine.payout_id == payout_id).order_by(PayoutLine.id)
    return list(session.execute(query).scalars())
