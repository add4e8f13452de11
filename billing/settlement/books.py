"""Booking a statement's settled money: per provider, gross, fee and net reconcile.

For each tenant, provider and currency of a statement's matched lines, one balanced
ledger transaction: the provider's clearing account is relieved of the gross it owed
(it was charged when each top-up credited the wallet), the provider's fee goes to its
fees account and the net to the account of what the provider paid our bank. So per
provider, summed over tenants: clearing settled = fees + paid to bank, exactly what
the statement says.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.core.money import Currency
from billing.ledger.postings import Posting, clearing
from billing.ledger.service import TransactionRequest, post_transactions


def fees(provider: str) -> str:
    """What a provider charged us for collecting top-ups."""
    return f"fees:{provider}"


def settled(provider: str) -> str:
    """What a provider has paid out to our bank for collected top-ups."""
    return f"settled:{provider}"


def settlement_postings(provider: str, currency: str, gross: int, fee: int) -> list[Posting]:
    money = Currency(currency)
    postings = [Posting(clearing(provider), money, gross)]
    if fee:
        postings.append(Posting(fees(provider), money, -fee))
    if gross - fee:
        postings.append(Posting(settled(provider), money, -(gross - fee)))
    return postings


_MATCHED = text("""
SELECT tenant_id, provider, currency, SUM(amount_minor) AS gross, SUM(fee_minor) AS fee
FROM settlement_lines WHERE statement_id = :statement_id AND outcome = 'matched'
GROUP BY tenant_id, provider, currency ORDER BY tenant_id, provider, currency
""")


def book_statement(session: Session, statement_id: str) -> int:
    """Post the statement's settlement, once (keys name the statement); how many posted."""
    requests = [
        TransactionRequest(
            tenant_id=row.tenant_id,
            idempotency_key=f"settlement:{statement_id}:{row.provider}:{row.currency}",
            kind="settlement",
            postings=settlement_postings(row.provider, row.currency, int(row.gross), int(row.fee)),
            description=f"{row.provider} settlement, statement {statement_id}",
            reference=statement_id,
        )
        for row in session.execute(_MATCHED, {"statement_id": statement_id})
        if row.gross
    ]
    return len(post_transactions(session, requests))
