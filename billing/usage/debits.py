"""Prepaid usage into the ledger: one transaction per tenant per batch, never an overdraft.

Rate plans price usage net of VAT; a prepaid wallet holds VAT-inclusive money, so a
prepaid debit is the net charge plus its VAT (DESIGN.md, Tax): the wallet is debited
gross, usage revenue credited net, and the VAT part goes to the account holding VAT
already accounted on the prepayments (`vat:prepayments`). VAT is worked out per
record, so each row's debit can be shown on its own and the batch sums exactly.

The wallet row is locked first, then charges are taken in order while they fit; a
charge that does not fit is left unpaid (the caller keeps it `unbilled`), so the
wallet is never overdrawn and a later, smaller charge can still be paid. Rows stored
before their debit (intake) are marked by a forecast first (`forecast_each`: the wallet
unlocked, the debit's ids numbered ahead), and the lock taken last, held to COMMIT only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.ledger.ledger_post import Numbered, number_ahead
from billing.ledger.models import Account, Entry
from billing.ledger.postings import USAGE_REVENUE, VAT_ON_PREPAYMENTS, WALLET, Posting
from billing.ledger.service import TransactionRequest, post_transaction, post_transactions
from invoices.vat import STANDARD_RATES, VatCode, vat_on_net

_accounts = Account.__table__
_entries = Entry.__table__


@lru_cache(maxsize=65_536)
def vat_on(net_minor: int) -> int:
    """VAT at the standard rate (code A) on a net charge: the invoices' own rule, so a
    prepaid debit and the tax documents never disagree by a cent. Cached: rows share
    amounts, and the rule works in Decimal."""
    return vat_on_net(net_minor, STANDARD_RATES[VatCode.A])


class Charge(NamedTuple):
    """A row's charge. A NamedTuple: one is made per prepaid row of a batch, and a frozen
    dataclass's `__init__` (a `object.__setattr__` a field) cost ~1 us each."""

    usage_id: int
    net_minor: int
    vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True, slots=True)
class Settlement:
    paid: frozenset[int]  # usage ids now paid (free ones included)
    unpaid: tuple[int, ...]  # usage ids the wallet could not pay
    transaction_id: int | None
    wallet_entry_id: int | None


def settle(
    session: Session,
    *,
    tenant_id: str,
    currency: str,
    charges: Sequence[Charge],
    refunds: Sequence[Charge] = (),
    key: str,
) -> Settlement:
    """Debit what the wallet can pay of `charges` (in order), crediting `refunds` first."""
    balance = _locked_wallet_balance(session, tenant_id, currency)
    paid, unpaid, postings = _take(balance, currency, charges, refunds)
    transaction_id = entry_id = None
    if len(postings) >= 2:
        posted = post_transaction(
            session,
            tenant_id=tenant_id,
            idempotency_key=_idempotency_key(key, paid, refunds),
            kind="usage",
            postings=postings,
            description=_describe(len(paid), len(refunds)),
        )
        transaction_id = posted.id
        entry_id = _wallet_entry(session, posted.id)
    return Settlement(frozenset(c.usage_id for c in paid), tuple(unpaid), transaction_id, entry_id)


def settle_each(
    session: Session,
    asked: Sequence[tuple[str, str, Sequence[Charge]]],
    *,
    key: str,
    numbered: Sequence[tuple[int, int]] | None = None,
) -> list[Settlement]:
    """`settle` for each (tenant, currency, charges), no refunds, in a few round trips.

    A batch of usage settles every tenant it holds: one by one that was four round trips
    a tenant (lock, post, wallet entry), a third of the batch's time. Here the wallets are
    locked in one statement (in tenant order, as one by one), the transactions posted
    pipelined, and the wallet entries read in one query. Give `asked` in tenant order.

    `numbered` (PostgreSQL): each tenant's transaction and wallet entry ids, taken ahead
    (`ledger.number_ahead`), which its debit then gets; a debit replayed keeps its own.
    """
    if not asked:
        return []
    if not is_postgresql(session) or (len(asked) < 2 and numbered is None):
        return [settle(session, tenant_id=t, currency=c, charges=ch, key=key) for t, c, ch in asked]
    balances = _wallet_balances(session, [(t, c) for t, c, _charges in asked], locked=True)
    taken = [_take(balances.get((t, c), 0), c, ch, ()) for t, c, ch in asked]
    ahead = numbered or [None] * len(asked)
    requests = [
        TransactionRequest(
            tenant_id=tenant_id,
            idempotency_key=_idempotency_key(key, paid, ()),
            kind="usage",
            postings=postings,
            description=_describe(len(paid), 0),
            numbered=_numbered(ids, postings),
        )
        for (tenant_id, _c, _ch), (paid, _unpaid, postings), ids in zip(
            asked, taken, ahead, strict=True
        )
        if len(postings) >= 2
    ]
    posted = iter(post_transactions(session, requests))
    transactions = [next(posted).id if len(postings) >= 2 else None for _p, _u, postings in taken]
    entries = {txn: entry for (txn, entry) in ahead if txn in transactions} if numbered else {}
    entries |= _wallet_entries(session, [t for t in transactions if t and t not in entries])
    return [
        Settlement(frozenset(c.usage_id for c in paid), tuple(unpaid), txn, entries.get(txn))
        for (paid, unpaid, _postings), txn in zip(taken, transactions, strict=True)
    ]


def forecast_each(
    session: Session, asked: Sequence[tuple[str, str, Sequence[Charge]]]
) -> tuple[list[Settlement], list[tuple[int, int]]]:
    """What `settle_each` would settle of each (tenant, currency, charges) were the
    wallets to stay as they are now (read without a lock), and the transaction and
    wallet entry ids each debit is to take, numbered ahead (PostgreSQL).

    Rows that name their debit can then be stored before it, and the wallets locked
    last (held to COMMIT, not through the rows' COPY); `settle_each(numbered=)` then
    settles, and what it settles otherwise (a wallet moved meanwhile), the caller mends.
    """
    if not asked:
        return [], []
    balances = _wallet_balances(session, [(t, c) for t, c, _charges in asked], locked=False)
    numbered = number_ahead(session, len(asked))
    forecast = []
    for (tenant_id, currency, charges), (transaction_id, entry_id) in zip(
        asked, numbered, strict=True
    ):
        paid, unpaid, postings = _take(
            balances.get((tenant_id, currency), 0), currency, charges, ()
        )
        debited = len(postings) >= 2
        forecast.append(
            Settlement(
                frozenset(c.usage_id for c in paid),
                tuple(unpaid),
                transaction_id if debited else None,
                entry_id if debited else None,
            )
        )
    return forecast, numbered


def _numbered(ids: tuple[int, int] | None, postings: Sequence[Posting]) -> Numbered | None:
    if ids is None:
        return None
    transaction_id, wallet_entry_id = ids
    entry_ids = [wallet_entry_id if p.account_kind == WALLET else None for p in postings]
    return Numbered(transaction_id, tuple(entry_ids))


def _take(
    balance: int, currency: str, charges: Sequence[Charge], refunds: Sequence[Charge]
) -> tuple[list[Charge], list[int], list[Posting]]:
    """The charges the wallet pays (in order, while they fit), the usage ids it cannot,
    and the postings of what it pays (none that are zero)."""
    available = balance + sum(refund.gross_minor for refund in refunds)
    paid, unpaid = [], []
    for charge in charges:
        gross = charge[1] + charge[2]  # gross_minor, without the property's call
        if gross <= available:
            available -= gross
            paid.append(charge)
        else:
            unpaid.append(charge[0])
    net = sum(c.net_minor for c in paid) - sum(r.net_minor for r in refunds)
    vat = sum(c.vat_minor for c in paid) - sum(r.vat_minor for r in refunds)
    postings = [
        Posting(WALLET, currency, -(net + vat)),
        Posting(USAGE_REVENUE, currency, net),
        Posting(VAT_ON_PREPAYMENTS, currency, vat),
    ]
    return paid, unpaid, [p for p in postings if p.amount_minor != 0]


def _idempotency_key(key: str, paid: Sequence[Charge], refunds: Sequence[Charge]) -> str:
    ids = sorted([c.usage_id for c in paid] + [-r.usage_id for r in refunds])
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:40]
    return f"{key}:{digest}"


def _describe(paid: int, refunded: int) -> str:
    if not refunded:
        return f"usage: {paid} records"
    return f"usage re-rated: {refunded} records replaced by {paid}"


def _locked_wallet_balance(session: Session, tenant_id: str, currency: str) -> int:
    query = select(_accounts.c.balance_minor).where(
        _accounts.c.tenant_id == tenant_id,
        _accounts.c.kind == WALLET,
        _accounts.c.currency == currency,
    )
    if is_postgresql(session):
        query = query.with_for_update()  # writers of this wallet queue here, in lock order
    return session.execute(query).scalar() or 0


def _wallet_balances(
    session: Session, wallets: Sequence[tuple[str, str]], *, locked: bool
) -> dict[tuple[str, str], int]:
    """The (tenant, currency) wallets' balances; `locked`, in tenant order (PostgreSQL
    locks the rows as the sorted scan returns them: the order one by one would take)."""
    query = (
        select(_accounts.c.tenant_id, _accounts.c.currency, _accounts.c.balance_minor)
        .where(
            tuple_(_accounts.c.tenant_id, _accounts.c.currency).in_(sorted(set(wallets))),
            _accounts.c.kind == WALLET,
        )
        .order_by(_accounts.c.tenant_id, _accounts.c.currency)
    )
    rows = session.execute(query.with_for_update() if locked else query)
    return {(row.tenant_id, row.currency): row.balance_minor for row in rows}


def _wallet_entries(session: Session, transaction_ids: Sequence[int]) -> dict[int, int]:
    """Each transaction's wallet entry, by transaction id."""
    if not transaction_ids:
        return {}
    rows = session.execute(
        select(_entries.c.transaction_id, _entries.c.id)
        .join(_accounts, _accounts.c.id == _entries.c.account_id)
        .where(_entries.c.transaction_id.in_(transaction_ids), _accounts.c.kind == WALLET)
    )
    return {row.transaction_id: row.id for row in rows}


def _wallet_entry(session: Session, transaction_id: int) -> int | None:
    return session.execute(
        select(_entries.c.id)
        .join(_accounts, _accounts.c.id == _entries.c.account_id)
        .where(_entries.c.transaction_id == transaction_id, _accounts.c.kind == WALLET)
    ).scalar()
