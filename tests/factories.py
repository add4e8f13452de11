"""Ledger moves used across tests: a top-up credits the wallet, usage debits it."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from billing.core.money import Currency
from billing.ledger.postings import USAGE_REVENUE, WALLET, Posting, clearing
from billing.ledger.service import PostedTransaction, post_transaction


def top_up(
    session: Session,
    tenant_id: str,
    amount: int,
    key: str | None = None,
    currency: Currency = Currency.TZS,
) -> PostedTransaction:
    return post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=key or f"topup:{uuid.uuid4()}",
        kind="topup",
        postings=[
            Posting(WALLET, currency, amount),
            Posting(clearing("mpesa"), currency, -amount),
        ],
        description="M-Pesa top-up",
    )


def charge(
    session: Session,
    tenant_id: str,
    amount: int,
    key: str | None = None,
    currency: Currency = Currency.TZS,
) -> PostedTransaction:
    return post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=key or f"usage:{uuid.uuid4()}",
        kind="usage",
        postings=[
            Posting(WALLET, currency, -amount),
            Posting(USAGE_REVENUE, currency, amount),
        ],
        description="voice usage",
    )
