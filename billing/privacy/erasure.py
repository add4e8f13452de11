"""Erasure within legal retention: a tenant admin asks, an admin approves once the
balance is settled, a job erases.

Personal data (the tenant's contact name, e-mail, phone and address; payers' numbers in
top-ups and callbacks; caller and callee numbers in usage) is replaced by keyed hashes
(`pseudonyms`), so records stay linkable without naming anyone; raw bodies that held it
are emptied; API keys are revoked and the tenant is closed. Kept whole, because the law
keeps them, and said so in the report: tax invoices, credit notes and fiscal receipts
(VAT Act 2014 s.86 and Tax Administration Act 2015 s.35: five years), the ledger (the
same books of account), and usage records themselves (their numbers pseudonymised; the
telecom regulator's retention). The audit trail records the erasure with counts only,
and its earlier events about the tenant have their personal values replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.auth.models import ApiKey
from billing.auth.principal import forget_keys
from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.core.errors import Conflict, NotFound
from billing.core.finders import owned
from billing.core.ids import new_id
from billing.ledger.models import Account
from billing.ledger.postings import RECEIVABLE, WALLET
from billing.privacy.models import DataExport, ErasureRequest, ErasureStatus, ExportStatus
from billing.privacy.pseudonyms import pseudonym, variants
from billing.privacy.scrubbing import forget_replays, scrub_free_text
from billing.tenants.models import Tenant, TenantStatus
from billing.topups.models import Topup, TopupStatus

log = logging.getLogger(__name__)

KEPT = {
    "invoices": "tax invoices, receipts and credit notes with their buyer details and "
    "PDFs: VAT Act 2014 s.86, Tax Administration Act 2015 s.35 (five years)",
    "invoice_lines": "the lines of those documents (same law)",
    "invoice_payments": "payments against invoices: books of account (same law)",
    "invoice_credits": "credits against invoices: books of account (same law)",
    "ledger_transactions": "the ledger: books of account (five years); holds no personal data",
    "ledger_entries": "the ledger's postings (five years); holds no personal data",
    "usage_records": "rated usage, the invoices' basis and the regulator's records; caller "
    "and callee numbers pseudonymised",
    "topups": "payments received (books of account); payer numbers pseudonymised",
}
# Where personal data stays after erasure, because a kept record holds it as issued.
KEPT_PERSONAL_DATA = {"invoices": ("parties", "receipt_body", "pdf")}
UNSETTLED = (TopupStatus.PENDING,)


def request_erasure(session: Session, tenant_id: str, requested_by: str, note: str | None):
    open_ = session.execute(
        select(ErasureRequest.id).where(
            ErasureRequest.tenant_id == tenant_id,
            ErasureRequest.status.in_((ErasureStatus.PENDING, ErasureStatus.APPROVED)),
        )
    ).scalar()
    if open_ is not None:
        raise Conflict(f"erasure request {open_} is already open for this tenant")
    request = ErasureRequest(
        id=new_id("era"), tenant_id=tenant_id, requested_by=requested_by,
        status=ErasureStatus.PENDING, note=note, created_at=utcnow(),
    )  # fmt: skip
    session.add(request)
    record(session, actor=requested_by, action="erasure.requested", subject_type="tenant",
           subject_id=tenant_id, tenant_id=tenant_id,
           detail={"erasure_id": request.id})  # fmt: skip
    session.flush()
    return request


def get_request(session: Session, erasure_id: str, tenant_id: str | None) -> ErasureRequest:
    return owned(session, ErasureRequest, erasure_id, tenant_id, "erasure request")


def decide(session: Session, erasure_id: str, actor: str, approve: bool, note: str | None):
    """Approve (the balance must be settled or refunded first) or reject; the erasure
    itself runs in the `privacy.erase` job once this commits."""
    from billing.jobs.outbox import defer

    request = session.get(ErasureRequest, erasure_id, with_for_update=True)
    if request is None:
        raise NotFound(f"erasure request {erasure_id} not found")
    if request.status != ErasureStatus.PENDING:
        raise Conflict(f"erasure request {erasure_id} is {request.status.value}")
    if approve:
        unsettled = unsettled_reasons(session, request.tenant_id)
        if unsettled:
            raise Conflict("settle or refund the balance first", {"balance": unsettled})
    request.status = ErasureStatus.APPROVED if approve else ErasureStatus.REJECTED
    request.decided_by, request.decided_at = actor, utcnow()
    if note:
        request.note = note
    record(session, actor=actor, action=f"erasure.{request.status.value}", subject_type="tenant",
           subject_id=request.tenant_id, tenant_id=request.tenant_id,
           detail={"erasure_id": request.id})  # fmt: skip
    if approve:
        defer(session, "privacy.erase", request.id, dedupe_key=f"privacy.erase:{request.id}")
    return request


def unsettled_reasons(session: Session, tenant_id: str) -> list[str]:
    """Why the tenant's money is not settled: a wallet holding money, an unpaid
    receivable, a top-up still in flight."""
    reasons = [
        f"{kind} holds {balance} {currency} (minor units)"
        for kind, currency, balance in session.execute(
            select(Account.kind, Account.currency, Account.balance_minor).where(
                Account.tenant_id == tenant_id,
                Account.kind.in_((WALLET, RECEIVABLE)),
                Account.balance_minor != 0,
            )
        )
    ]
    pending = session.execute(
        select(Topup.id).where(Topup.tenant_id == tenant_id, Topup.status.in_(UNSETTLED))
    ).scalars()
    reasons += [f"top-up {topup_id} is still pending" for topup_id in pending]
    return reasons


def erase(session: Session, erasure_id: str, key: str) -> dict[str, Any] | None:
    """The approved request's erasure, in the caller's (system-scoped) transaction;
    a second run finds it completed and does nothing."""
    request = session.get(ErasureRequest, erasure_id, with_for_update=True)
    if request is None or request.status != ErasureStatus.APPROVED:
        return None
    tenant = session.get(Tenant, request.tenant_id, with_for_update=True)
    if tenant is None:
        return None
    if is_postgresql(session):  # lets this transaction redact the append-only audit trail
        session.execute(text("SELECT set_config('malipo.erasing', :t, true)"), {"t": tenant.id})
    values = _personal_values(session, tenant)
    replacements = {value: pseudonym(key, value, 20) for value in values}
    counts = {
        "tenants": _close(session, tenant, key),
        "api_keys_revoked": _revoke_keys(session, tenant.id),
        "topups": _pseudonymise_topups(session, tenant.id, key),
        "usage_records": _pseudonymise_usage(session, tenant.id, key),
        **scrub_free_text(session, tenant.id, replacements),
        "idempotency_records": forget_replays(session, tenant.id, replacements),
        "data_exports": _expire_exports(session, tenant.id),
    }
    report = {
        "erased_at": utcnow().isoformat(),
        "pseudonymised": {name: count for name, count in counts.items() if count},
        "kept": KEPT,
        "kept_personal_data": {t: list(c) for t, c in KEPT_PERSONAL_DATA.items()},
    }
    request.status, request.completed_at, request.report = (
        ErasureStatus.COMPLETED, utcnow(), report,
    )  # fmt: skip
    record(session, actor=SYSTEM, action="tenant.erased", subject_type="tenant",
           subject_id=tenant.id, tenant_id=tenant.id,
           detail={"erasure_id": request.id, "counts": report["pseudonymised"]})  # fmt: skip
    log.info("erasure %s completed: %s", request.id, report["pseudonymised"])
    return report


def _personal_values(session: Session, tenant: Tenant) -> set[str]:
    values = {tenant.name, tenant.email, tenant.street, tenant.po_box}
    numbers = {tenant.msisdn, *session.execute(
        select(Topup.msisdn).where(Topup.tenant_id == tenant.id).distinct()
    ).scalars()}  # fmt: skip
    for number in numbers:
        if number:
            values |= variants(number)
    return {value for value in values if value and len(value) >= 4}


def _close(session: Session, tenant: Tenant, key: str) -> int:
    tenant.name = pseudonym(key, tenant.name, 40)
    tenant.email = pseudonym(key, tenant.email, 40) + "@erased.invalid"
    tenant.msisdn = pseudonym(key, tenant.msisdn, 20)
    tenant.street = tenant.po_box = tenant.city = None
    tenant.status = TenantStatus.CLOSED
    return 1


def _revoke_keys(session: Session, tenant_id: str) -> int:
    forget_keys(session)
    return session.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow(), label="")
    ).rowcount


def _pseudonymise_topups(session: Session, tenant_id: str, key: str) -> int:
    numbers = session.execute(
        select(Topup.msisdn).where(Topup.tenant_id == tenant_id).distinct()
    ).scalars()
    return _rewrite_column(session, "topups", "msisdn", tenant_id, numbers, key)


def _pseudonymise_usage(session: Session, tenant_id: str, key: str) -> int:
    changed = 0
    for column in ("from_number", "to_number"):
        numbers = session.execute(
            text(
                f"SELECT DISTINCT {column} FROM usage_records"  # noqa: S608 (own column names)
                f" WHERE tenant_id = :t AND {column} <> '' AND {column} NOT LIKE 'pz\\_%'"
            ),
            {"t": tenant_id},
        ).scalars()
        changed += _rewrite_column(session, "usage_records", column, tenant_id, numbers, key)
    changed += session.execute(
        text("UPDATE usage_records SET raw = NULL WHERE tenant_id = :t AND raw IS NOT NULL"),
        {"t": tenant_id},
    ).rowcount
    return changed


def _rewrite_column(
    session: Session, table: str, column: str, tenant_id: str, values: Iterable[str], key: str
) -> int:
    """Each value of `table.column` (this tenant's rows) replaced by its pseudonym: one
    UPDATE … FROM a mapping on PostgreSQL, however many rows share a number."""
    mapping = [{"n": value, "p": pseudonym(key, value, 20)} for value in values if value]
    if not mapping:
        return 0
    if is_postgresql(session):
        session.execute(text(
            "CREATE TEMP TABLE IF NOT EXISTS erasure_map (n text PRIMARY KEY, p text)"
            " ON COMMIT DROP"
        ))  # fmt: skip
        session.execute(text("DELETE FROM erasure_map"))
        session.execute(text("INSERT INTO erasure_map (n, p) VALUES (:n, :p)"), mapping)
        return session.execute(
            text(
                f"UPDATE {table} AS t SET {column} = m.p FROM erasure_map AS m"  # noqa: S608
                f" WHERE t.tenant_id = :t AND t.{column} = m.n"
            ),
            {"t": tenant_id},
        ).rowcount
    statement = text(
        f"UPDATE {table} SET {column} = :p WHERE tenant_id = :t AND {column} = :n"  # noqa: S608
    )
    return sum(session.execute(statement, {**row, "t": tenant_id}).rowcount for row in mapping)


def _expire_exports(session: Session, tenant_id: str) -> int:
    from billing.privacy.exports import delete_archive

    exports = session.execute(
        select(DataExport).where(DataExport.tenant_id == tenant_id,
                                 DataExport.status != ExportStatus.EXPIRED)
    ).scalars()  # fmt: skip
    count = 0
    for export in exports:
        delete_archive(export)
        export.status, count = ExportStatus.EXPIRED, count + 1
    return count
