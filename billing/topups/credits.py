"""Crediting a burst of paid top-ups with a handful of statements, whatever its size.

`outcomes.apply_outcome` is the rule for one top-up; this module is the same rule for
the common case of a burst, written set-based: a pending top-up whose provider says
it was paid exactly what was asked. Each credit still is its own ledger transaction
(key `topup:<id>`), its own `topup.succeeded` event with the payer's receipt, and its
own fiscal-receipt job; only the round trips are shared: the ledger calls go
pipelined, and every other write is one statement for the whole burst.

Anything else (a mismatch, a late success, a failure, a reference seen twice in the
burst) goes through `apply_outcome` one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.events.service import emit_many
from billing.jobs.outbox import defer_many
from billing.ledger.models import Account, Entry
from billing.ledger.postings import WALLET
from billing.ledger.service import post_transactions
from billing.topups.models import CallbackDelivery, InboxStatus, Topup, TopupStatus
from billing.topups.outcomes import (
    NO_CONTACT,
    Outcome,
    contacts,
    credit_transaction,
    event_data,
    mismatch,
    payer_receipt,
    verification,
)
from providers.base import ProviderStatus

_topups = Topup.__table__
_inbox = CallbackDelivery.__table__


@dataclass(frozen=True, slots=True)
class Credit:
    """A proven callback that pays a pending top-up in full."""

    inbox_id: int
    topup: Row  # the locked `topups` row
    outcome: Outcome

    @property
    def provider_txn_id(self) -> str | None:
        return self.topup.provider_txn_id or self.outcome.provider_txn_id


@dataclass(frozen=True, slots=True)
class _Credited:
    """What `event_data` reads of a top-up, as it stands once credited."""

    id: str
    status: TopupStatus
    amount_minor: int
    currency: str
    provider: str
    provider_txn_id: str | None
    failure_reason: str | None = None


def lock_topups(session: Session, references: list[str]) -> dict[str, Row]:
    """The top-ups of these references, row-locked in (tenant, id) order."""
    rows = session.execute(
        select(_topups)
        .where(_topups.c.reference.in_(references))
        .order_by(_topups.c.tenant_id, _topups.c.id)
        .with_for_update()
    ).all()
    return {row.reference: row for row in rows}


def is_plain_credit(topup: Row | None, outcome: Outcome) -> bool:
    """True when the callback pays a pending top-up exactly: the burst's common case."""
    return (
        topup is not None
        and topup.status == TopupStatus.PENDING
        and outcome.status is ProviderStatus.SUCCEEDED
        and not outcome.unknown_status
        and not mismatch(topup, outcome)
    )


def credit_all(session: Session, credits: list[Credit]) -> None:
    """Credit every top-up, in the caller's transaction, holding the top-ups' locks."""
    if not credits:
        return
    credits = sorted(credits, key=lambda c: (c.topup.tenant_id, c.topup.id))
    posted = post_transactions(
        session, [credit_transaction(c.topup, c.provider_txn_id) for c in credits]
    )
    transaction_ids = [p.id for p in posted]
    balances = _wallet_balances_after(session, transaction_ids)
    reach = contacts(session, {credit.topup.tenant_id for credit in credits})
    now = utcnow()
    session.execute(
        update(_topups)
        .where(_topups.c.id == bindparam("b_id"))
        .values(
            status=TopupStatus.SUCCEEDED,
            ledger_transaction_id=bindparam("b_txn"),
            provider_txn_id=bindparam("b_provider_txn_id"),
            provider_ref=bindparam("b_provider_ref"),
            verification=bindparam("b_verification"),
            next_check_at=None,
            updated_at=now,
        ),
        [
            {
                "b_id": credit.topup.id,
                "b_txn": txn,
                "b_provider_txn_id": credit.provider_txn_id,
                "b_provider_ref": credit.topup.provider_ref or credit.outcome.provider_ref,
                "b_verification": verification(credit.topup, credit.outcome),
            }
            for credit, txn in zip(credits, transaction_ids, strict=True)
        ],
    )
    emit_many(
        session,
        [
            (
                credit.topup.tenant_id,
                "topup.succeeded",
                {
                    **event_data(_credited(credit)),
                    "receipt": payer_receipt(
                        credit.topup,
                        balance_minor=balances[txn],
                        contact=reach.get(credit.topup.tenant_id, NO_CONTACT),
                        reference=credit.provider_txn_id or credit.topup.reference,
                    ),
                },
            )
            for credit, txn in zip(credits, transaction_ids, strict=True)
        ],
    )
    defer_many(  # each payment is a tax point: its fiscal receipt, on the documents queue
        session,
        "invoicing.topup_receipt",
        [[credit.topup.id] for credit in credits],
        queue="documents",
        dedupe_keys=[f"receipt:{credit.topup.id}" for credit in credits],
    )
    session.execute(
        update(_inbox)
        .where(_inbox.c.id == bindparam("b_id"))
        .values(status=InboxStatus.APPLIED, topup_id=bindparam("b_topup"), applied_at=now),
        [{"b_id": credit.inbox_id, "b_topup": credit.topup.id} for credit in credits],
    )


def _wallet_balances_after(session: Session, transaction_ids: list[int]) -> dict[int, int]:
    """Each credit's wallet balance just after it, from its own ledger entry."""
    rows = session.execute(
        select(Entry.transaction_id, Entry.balance_after_minor)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.transaction_id.in_(transaction_ids), Account.kind == WALLET)
    )
    return {txn: balance for txn, balance in rows}


def _credited(credit: Credit) -> _Credited:
    topup = credit.topup
    return _Credited(
        id=topup.id,
        status=TopupStatus.SUCCEEDED,
        amount_minor=topup.amount_minor,
        currency=topup.currency,
        provider=topup.provider,
        provider_txn_id=credit.provider_txn_id,
    )
