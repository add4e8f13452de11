"""Prepaid usage into the ledger: one transaction per tenant per batch, never an overdraft.

Rate plans price usage net of VAT; a prepaid wallet holds VAT-inclusive money, so a
prepaid debit is the net charge plus its VAT (DESIGN.md, Tax): the wallet is debited
gross, usage revenue credited net, and the VAT part goes to the account holding VAT
already accounted on the prepayments (`vat:prepayments`). VAT is worked out per
record, so each row's debit can be shown on its own and the batch sums exactly.

The wallet row is locked first, then charges are taken in order while they fit; a
charge that does not fit is left unpaid (the caller keeps it `unbilled`), so the
wallet is never overdrawn and a later, smaller charge can still be paid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.db import is_postgresql
from billing.ledger.models import Account, Entry
from billing.ledger.postings import USAGE_REVENUE, VAT_ON_PREPAYMENTS, WALLET, Posting
from billing.ledger.service import post_transaction
from invoices.vat import STANDARD_RATES, VatCode, vat_on_net

_accounts = Account.__table__
_entries = Entry.__table__


@lru_cache(maxsize=65_536)
def vat_on(net_minor: int) -> int:
    """VAT at the standard rate (code A) on a net charge: the invoices' own rule, so a
    prepaid debit and the tax documents never disagree by a cent. Cached: rows share
    amounts, and the rule works in Decimal."""
    return vat_on_net(net_minor, STANDARD_RATES[VatCode.A])


@dataclass(frozen=True, slots=True)
class Charge:
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
    available = balance + sum(refund.gross_minor for refund in refunds)
    paid, unpaid = [], []
    for charge in charges:
        if charge.gross_minor <= available:
            available -= charge.gross_minor
            paid.append(charge)
        else:
            unpaid.append(charge.usage_id)
    net = sum(c.net_minor for c in paid) - sum(r.net_minor for r in refunds)
    vat = sum(c.vat_minor for c in paid) - sum(r.vat_minor for r in refunds)
    postings = [
        Posting(WALLET, currency, -(net + vat)),
        Posting(USAGE_REVENUE, currency, net),
        Posting(VAT_ON_PREPAYMENTS, currency, vat),
    ]
    postings = [p for p in postings if p.amount_minor != 0]
    transaction_id = entry_id = None
    if len(postings) >= 2:
        ids = sorted([c.usage_id for c in paid] + [-r.usage_id for r in refunds])
        digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:40]
        posted = post_transaction(
            session,
            tenant_id=tenant_id,
            idempotency_key=f"{key}:{digest}",
            kind="usage",
            postings=postings,
            description=_describe(len(paid), len(refunds)),
        )
        transaction_id = posted.id
        entry_id = _wallet_entry(session, posted.id)
    return Settlement(frozenset(c.usage_id for c in paid), tuple(unpaid), transaction_id, entry_id)


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


def _wallet_entry(session: Session, transaction_id: int) -> int | None:
    return session.execute(
        select(_entries.c.id)
        .join(_accounts, _accounts.c.id == _entries.c.account_id)
        .where(_entries.c.transaction_id == transaction_id, _accounts.c.kind == WALLET)
    ).scalar()
