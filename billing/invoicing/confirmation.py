"""A receipt TRA took whose answer we never recorded, confirmed by a person.

If the database is cut between TRA's ACK 0 and our commit (or the answer is lost on the
way), the receipt stays pending; its resend is refused as a duplicate RCTVNUM (ACK 5,
TRA's generic code) and the device's queue waits behind it. We still fail closed: no
process ever takes a refusal for an acknowledgement. An admin looks the receipt up on
TRA's verification page (the code and link printed on it) and confirms it here; it is
then acknowledged, carries the code they read, names who confirmed it and when, and the
queue moves on.

Only a receipt TRA can hold is confirmed: the head of its device's queue (TRA takes GC
= last + 1, so one behind it cannot have reached TRA), already posted at least once, and
only with its own verification code (RCTVNUM, and the receipt time when the code or link
carries it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.invoicing import states
from billing.invoicing.fiscal import FISCALISE_JOB, request_render
from billing.invoicing.models import AWAITING_TRA, Invoice
from billing.invoicing.rendering import fiscal_of
from billing.invoicing.states import FiscalStatus
from billing.jobs.outbox import defer
from billing.topups.models import ReviewItem, ReviewStatus
from billing.topups.reviews import resolve_item

FIELD = "verification_code"
# TRA's verification pages: production, and the test system's.
TRA_VERIFY_HOSTS = frozenset({"verify.tra.go.tz", "virtual.tra.go.tz"})
_CODE = re.compile(r"[A-Z0-9]{2,40}")
_HHMMSS = re.compile(r"\d{6}")


@dataclass(frozen=True)
class StuckReceipt:
    """The head of a device's queue that TRA was asked for and did not acknowledge."""

    invoice_id: str
    number: str | None
    tenant_id: str
    efd_serial: str
    gc: int
    verification_code: str
    verification_url: str | None
    issued_at: datetime | None
    attempts: int
    last_ack_code: int | None
    last_error: str | None
    waiting_behind: int  # pending receipts of the same device after it


def stuck_receipts(session: Session, settings: Settings) -> list[StuckReceipt]:
    heads = (
        select(
            Invoice.efd_serial,
            func.min(Invoice.gc).label("gc"),
            func.count().label("pending"),
        )
        .where(AWAITING_TRA)
        .group_by(Invoice.efd_serial)
        .subquery()
    )
    rows = session.execute(
        select(Invoice, heads.c.pending)
        .join(heads, (Invoice.efd_serial == heads.c.efd_serial) & (Invoice.gc == heads.c.gc))
        .where(AWAITING_TRA, Invoice.fiscal_attempts >= 1)
        .order_by(Invoice.efd_serial)
    ).all()
    return [_stuck(invoice, waiting - 1, settings) for invoice, waiting in rows]


def _stuck(invoice: Invoice, waiting_behind: int, settings: Settings) -> StuckReceipt:
    fiscal = fiscal_of(invoice, settings)
    return StuckReceipt(
        invoice_id=invoice.id, number=invoice.number_text, tenant_id=invoice.tenant_id,
        efd_serial=invoice.efd_serial or "", gc=invoice.gc or 0,
        verification_code=invoice.rctvnum or "",
        verification_url=fiscal.verification_url if fiscal else None,
        issued_at=invoice.issued_at, attempts=invoice.fiscal_attempts,
        last_ack_code=invoice.last_ack_code, last_error=invoice.last_fiscal_error,
        waiting_behind=waiting_behind,
    )  # fmt: skip


def read_verification(given: str) -> tuple[str, str | None]:
    """RCTVNUM and the receipt time (HHMMSS, when given) from what TRA's page shows:
    the code (`A1B2C3123`), code and time (`A1B2C3123_101530`) or the verification link."""
    value = given.strip()
    if "://" in value:
        try:
            link = urlsplit(value)
        except ValueError:  # e.g. a malformed host
            raise InvalidInput.on(FIELD, "not a link") from None
        if link.scheme != "https" or link.hostname not in TRA_VERIFY_HOSTS:
            raise InvalidInput.on(FIELD, "a link must be TRA's verification page (https)")
        value = link.path.rstrip("/").rsplit("/", 1)[-1]
    code, _, hhmmss = value.partition("_")
    code = code.upper()
    if not _CODE.fullmatch(code) or (hhmmss and not _HHMMSS.fullmatch(hhmmss)):
        raise InvalidInput.on(FIELD, "expected TRA's code, e.g. A1B2C3123 or A1B2C3123_101530")
    return code, hhmmss or None


def confirm(
    session: Session, invoice_id: str, verification_code: str, actor: str, note: str = ""
) -> Invoice:
    """Acknowledge a stuck receipt TRA holds; a repeat with its code changes nothing."""
    code, hhmmss = read_verification(verification_code)
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    if not invoice.rctvnum or invoice.fiscal_status not in (
        FiscalStatus.PENDING,
        FiscalStatus.ACKNOWLEDGED,
    ):
        raise Conflict(f"{invoice.number_text or invoice.id} has no fiscal receipt to confirm")
    receipt_time = (invoice.receipt_time or "").replace(":", "")
    if code != invoice.rctvnum.upper() or (hhmmss and hhmmss != receipt_time):
        raise InvalidInput.on(FIELD, "is not this receipt's: TRA's page shows another receipt")
    if invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED:
        return invoice  # confirmed already, or TRA acknowledged it itself: nothing to do
    _check_tra_can_hold(session, invoice)
    now = utcnow()
    before = {"fiscal_status": invoice.fiscal_status.value, "status": invoice.status.value}
    invoice.fiscal_status = FiscalStatus.ACKNOWLEDGED
    invoice.status = states.acknowledged(invoice.status)
    invoice.fiscalised_at = invoice.fiscal_confirmed_at = now
    invoice.fiscal_confirmed_by = actor
    invoice.tra_verification = f"{code}_{hhmmss}" if hhmmss else code
    record(session, actor=actor, action="invoice.fiscal_confirmed", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"gc": invoice.gc, "efd_serial": invoice.efd_serial,
                   "rctvnum": invoice.rctvnum, "tra_verification": invoice.tra_verification,
                   "attempts": invoice.fiscal_attempts, "last_ack_code": invoice.last_ack_code,
                   "last_error": invoice.last_fiscal_error, "note": note[:500],
                   "before": before, "after": {"fiscal_status": "acknowledged",
                                               "status": invoice.status.value}})  # fmt: skip
    _resolve_reviews(session, invoice, actor)
    request_render(session, invoice.id, "ack")
    defer(session, FISCALISE_JOB, invoice.efd_serial)  # the receipts behind it, now
    return invoice


def _check_tra_can_hold(session: Session, invoice: Invoice) -> None:
    if invoice.fiscal_attempts < 1:
        raise Conflict("it was never posted to TRA, so TRA cannot hold it: wait for the queue")
    head = session.execute(
        select(func.min(Invoice.gc)).where(
            Invoice.efd_serial == invoice.efd_serial,
            AWAITING_TRA,
        )
    ).scalar_one()
    if head != invoice.gc:
        raise Conflict(
            f"receipt GC {head} waits ahead of it (GC {invoice.gc}) and TRA takes them in "
            "order, so TRA cannot hold this one: confirm the queue's head first"
        )


def _resolve_reviews(session: Session, invoice: Invoice, actor: str) -> None:
    """The "TRA keeps refusing" review items of this receipt: answered by the confirmation."""
    items = session.execute(
        select(ReviewItem).where(
            ReviewItem.kind == "vfd_rejected", ReviewItem.status == ReviewStatus.OPEN
        )
    ).scalars()
    for item in items:
        if (item.detail or {}).get("invoice_id") == invoice.id:
            resolve_item(session, item.id, "confirmed against TRA by a person", actor=actor)


def find_receipt(session: Session, reference: str) -> str:
    """An invoice id from its id, its number (RCP-…, INV-…) or its RCTVNUM."""
    found = session.execute(
        select(Invoice.id).where(
            (Invoice.id == reference)
            | (Invoice.number_text == reference)
            | (Invoice.rctvnum == reference.upper())
        )
    ).scalars().all()  # fmt: skip
    if len(found) != 1:
        raise NotFound(f"no single receipt is {reference!r}")
    return found[0]
