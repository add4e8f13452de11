"""Applying what a provider said about a top-up: one place for proven callbacks, status
queries and synchronous initiate answers, so every source obeys the same rules.

An `Outcome` is something a verified source said: our initiate call's answer, a status
query's answer, or a callback the provider signed (or sent from its own networks to our
secret path). An unproven callback never becomes one (`billing.topups.trust`).

The caller holds the top-up's row lock and owns the transaction. The wallet is
credited with ledger key `topup:<id>`, so no path and no re-run can credit twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.money import Currency
from billing.events.service import emit
from billing.jobs.outbox import defer
from billing.ledger.balances import account_balance
from billing.ledger.postings import WALLET, Posting, clearing
from billing.ledger.service import TransactionRequest, post_transactions
from billing.tenants.models import Tenant
from billing.topups.models import Topup, TopupStatus
from billing.topups.receipts import receipt
from billing.topups.reviews import open_item
from billing.topups.states import move
from providers.base import ProviderResult, ProviderStatus

FINAL_FAILURES = {
    ProviderStatus.FAILED: TopupStatus.FAILED,
    ProviderStatus.CANCELLED: TopupStatus.CANCELLED,
    ProviderStatus.EXPIRED: TopupStatus.EXPIRED,
}


@dataclass(frozen=True)
class Outcome:
    source: str  # "initiate", "status_query", "callback:signature" or "callback:source"
    status: ProviderStatus
    amount_minor: int | None = None
    currency: str | None = None
    msisdn: str | None = None
    provider_ref: str | None = None
    provider_txn_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    unknown_status: bool = False

    @classmethod
    def of(cls, source: str, result: ProviderResult) -> Outcome:
        return cls(
            source=source,
            status=result.status,
            amount_minor=result.amount_minor,
            currency=result.currency,
            msisdn=getattr(result, "msisdn", None),
            provider_ref=result.provider_ref,
            provider_txn_id=result.provider_txn_id,
            reason_code=result.reason_code,
            reason=result.reason,
            unknown_status=result.unknown_status,
        )


def apply_outcome(
    session: Session, topup: Topup, outcome: Outcome, inbox_id: int | None = None
) -> str:
    """Move the top-up on by what the provider said; return what was done."""
    if outcome.source != "status_query":  # a query's own conversation id names the query
        topup.provider_ref = topup.provider_ref or outcome.provider_ref
    if outcome.unknown_status:
        _review(session, topup, "unknown_status", outcome, inbox_id)
        return "unknown_status"
    if outcome.status is ProviderStatus.SUCCEEDED:
        return _succeeded(session, topup, outcome, inbox_id)
    if outcome.status in FINAL_FAILURES:
        return _failed(session, topup, outcome, inbox_id)
    return "pending"


def _succeeded(session: Session, topup: Topup, outcome: Outcome, inbox_id: int | None) -> str:
    if topup.status in (TopupStatus.SUCCEEDED, TopupStatus.REFUNDED):
        return "already_credited"
    found = mismatch(topup, outcome)
    if found:
        topup.next_check_at = None  # parked: a person decides
        _review(session, topup, "amount_mismatch", outcome, inbox_id, found)
        return "mismatch"
    if topup.status is not TopupStatus.PENDING:
        _review(session, topup, "late_success", outcome, inbox_id)
    topup.provider_txn_id = topup.provider_txn_id or outcome.provider_txn_id
    topup.verification = verification(topup, outcome)
    (posted,) = post_transactions(session, [credit_transaction(topup, topup.provider_txn_id)])
    move(topup, "status", TopupStatus.SUCCEEDED)
    topup.ledger_transaction_id = posted.id
    topup.next_check_at = None
    data = {**event_data(topup), "receipt": _receipt(session, topup)}
    emit(session, tenant_id=topup.tenant_id, type="topup.succeeded", data=data)
    # The payment is the tax point: its fiscal receipt follows, by the outbox, on the
    # documents queue, so a burst of credits is not held up by receipts.
    defer(
        session,
        "invoicing.topup_receipt",
        topup.id,
        queue="documents",
        dedupe_key=f"receipt:{topup.id}",
    )
    return "credited"


def credit_transaction(topup: Topup | Row, provider_txn_id: str | None) -> TransactionRequest:
    """The ledger transaction that credits a paid top-up: provider clearing → wallet."""
    currency = Currency(topup.currency)
    return TransactionRequest(
        tenant_id=topup.tenant_id,
        idempotency_key=f"topup:{topup.id}",
        kind="topup",
        postings=[
            Posting(WALLET, currency, topup.amount_minor),
            Posting(clearing(topup.provider), currency, -topup.amount_minor),
        ],
        description=f"{topup.provider} top-up {provider_txn_id or topup.reference}",
        reference=topup.id,
    )


def payer_receipt(
    topup: Topup | Row, *, balance_minor: int, contact: Contact, reference: str
) -> dict:
    """The payer's SMS/e-mail receipt, for the platform to send (`billing.topups.receipts`)."""
    return receipt(
        amount_minor=topup.amount_minor,
        balance_minor=balance_minor,
        currency=topup.currency,
        provider=topup.provider,
        msisdn=topup.msisdn,
        email=contact.email,
        language=contact.language,
        reference=reference,
        paid_at=utcnow(),
    )


class Contact(NamedTuple):
    email: str | None
    language: str


NO_CONTACT = Contact(None, "en")


def contacts(session: Session, tenant_ids: set[str]) -> dict[str, Contact]:
    """Where each tenant's receipts go, and in which language."""
    rows = session.execute(
        select(Tenant.id, Tenant.email, Tenant.language).where(Tenant.id.in_(tenant_ids))
    )
    return {row.id: Contact(row.email, row.language.value) for row in rows}


def _receipt(session: Session, topup: Topup) -> dict:
    balance = account_balance(session, topup.tenant_id, WALLET, topup.currency)
    return payer_receipt(
        topup,
        balance_minor=balance.balance_minor,
        contact=contacts(session, {topup.tenant_id}).get(topup.tenant_id, NO_CONTACT),
        reference=topup.provider_txn_id or topup.reference,
    )


def _failed(session: Session, topup: Topup, outcome: Outcome, inbox_id: int | None) -> str:
    if topup.status is TopupStatus.SUCCEEDED:
        _review(session, topup, "conflicting_status", outcome, inbox_id)
        return "conflict"
    if topup.status is not TopupStatus.PENDING:
        return "already_final"
    move(topup, "status", FINAL_FAILURES[outcome.status])
    topup.failure_code = outcome.reason_code
    topup.failure_reason = (outcome.reason or "")[:300] or None
    topup.next_check_at = None
    emit(session, tenant_id=topup.tenant_id, type="topup.failed", data=event_data(topup))
    return topup.status.value


def verification(topup: Topup | Row, outcome: Outcome) -> dict[str, str]:
    """What proved a credit, and which of amount, currency and payer the provider itself
    reported: a check it made impossible is recorded as such, never passed silently."""

    def checked(told: object) -> str:
        return "not_reported" if told in (None, "") else "matched"

    return {
        "by": outcome.source,
        "amount": checked(outcome.amount_minor),
        "currency": checked(outcome.currency),
        "payer": checked(outcome.msisdn if outcome.msisdn and outcome.msisdn.isdigit() else None),
    }


def mismatch(topup: Topup | Row, outcome: Outcome) -> dict[str, list]:
    found = {}
    if outcome.amount_minor is not None and outcome.amount_minor != topup.amount_minor:
        found["amount"] = [topup.amount_minor, outcome.amount_minor]
    if outcome.currency is not None and outcome.currency != topup.currency:
        found["currency"] = [topup.currency, outcome.currency]
    if outcome.msisdn and outcome.msisdn.isdigit() and outcome.msisdn[-9:] != topup.msisdn[-9:]:
        found["msisdn"] = [topup.msisdn, outcome.msisdn]
    return found


def _review(
    session: Session,
    topup: Topup,
    kind: str,
    outcome: Outcome,
    inbox_id: int | None,
    mismatch: dict | None = None,
) -> None:
    open_item(
        session,
        kind=kind,
        summary=f"{kind.replace('_', ' ')}: top-up {topup.id} ({topup.provider})",
        detail={"outcome": asdict(outcome), "mismatch": mismatch or {}},
        tenant_id=topup.tenant_id,
        topup_id=topup.id,
        inbox_id=inbox_id,
    )


def event_data(topup: Topup) -> dict:
    return {
        "topup_id": topup.id,
        "status": topup.status.value,
        "amount": topup.amount_minor,
        "currency": topup.currency,
        "provider": topup.provider,
        "provider_txn_id": topup.provider_txn_id,
        "failure_reason": topup.failure_reason,
    }
