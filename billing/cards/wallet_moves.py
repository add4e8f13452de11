"""Taking card money back out of a wallet: what the wallet holds, and the rest owed.

A refund made at Stripe, a chargeback hold and a lost chargeback take money the tenant
may have spent already. A wallet is never overdrawn (the ledger refuses), so the part
it cannot cover is booked to `receivable`: the tenant owes it, and finance sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.money import Currency
from billing.ledger.models import Account
from billing.ledger.postings import RECEIVABLE, WALLET, Posting
from billing.ledger.service import PostedTransaction, post_transaction

FEES = "fees:card"  # what Stripe kept of each charge: an expense of the platform
CHARGEBACK_HOLD = "hold:chargeback"  # disputed money, out of the spendable balance


@dataclass(frozen=True)
class Taken:
    transaction: PostedTransaction
    from_wallet: int
    owed: int


def wallet_balance_locked(session: Session, tenant_id: str, currency: str) -> int:
    """The wallet's balance, its row locked until the caller's transaction ends."""
    balance = session.execute(
        select(Account.balance_minor)
        .where(Account.tenant_id == tenant_id, Account.kind == WALLET, Account.currency == currency)
        .with_for_update()
    ).scalar()
    return int(balance or 0)


def take(
    session: Session,
    *,
    tenant_id: str,
    currency: str,
    amount_minor: int,
    to: list[Posting],
    key: str,
    kind: str,
    description: str,
    reference: str,
    wallet_first: int | None = None,
) -> Taken:
    """Post `to` (summing to +amount) against the wallet, short of it against receivable.

    `wallet_first` caps what the wallet gives (default: all of it it can)."""
    available = wallet_balance_locked(session, tenant_id, currency)
    cap = amount_minor if wallet_first is None else min(wallet_first, amount_minor)
    from_wallet = max(0, min(cap, available))
    owed = amount_minor - from_wallet
    money = Currency(currency)
    postings = list(to)
    if from_wallet:
        postings.append(Posting(WALLET, money, -from_wallet))
    if owed:
        postings.append(Posting(RECEIVABLE, money, -owed))
    posted = post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=key,
        kind=kind,
        postings=postings,
        description=description[:500],
        reference=reference,
    )
    return Taken(posted, from_wallet, owed)
