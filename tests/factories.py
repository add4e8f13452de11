"""Used across tests: ledger moves (a top-up credits the wallet, usage debits it) and the
standard tariff."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from billing.core.money import Currency
from billing.ledger.postings import USAGE_REVENUE, WALLET, Posting, clearing
from billing.ledger.service import PostedTransaction, post_transaction
from billing.tariffs.models import PlanAssignment
from billing.tariffs.seed import put_on_default_plan


def top_up(
    session: Session,
    tenant_id: str,
    amount: int,
    key: str | None = None,
    currency: Currency = Currency.TZS,
) -> PostedTransaction:
    return _into_wallet(session, tenant_id, amount, "topup", clearing("mpesa"), key, currency)


def charge(
    session: Session,
    tenant_id: str,
    amount: int,
    key: str | None = None,
    currency: Currency = Currency.TZS,
) -> PostedTransaction:
    return _into_wallet(session, tenant_id, -amount, "usage", USAGE_REVENUE, key, currency)


def _into_wallet(
    session: Session,
    tenant_id: str,
    amount: int,
    kind: str,
    other: str,
    key: str | None,
    currency: Currency,
) -> PostedTransaction:
    return post_transaction(
        session,
        tenant_id=tenant_id,
        idempotency_key=key or f"{kind}:{uuid.uuid4()}",
        kind=kind,
        postings=[Posting(WALLET, currency, amount), Posting(other, currency, -amount)],
        description="M-Pesa top-up" if kind == "topup" else "voice usage",
    )


def on_default_plan(session: Session, tenant_id: str) -> PlanAssignment:
    """The standard destinations and the TZ-STANDARD plan, assigned to the tenant since 2020."""
    return put_on_default_plan(session, tenant_id)
