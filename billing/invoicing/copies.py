"""One original per document (VAT Act s.86(4)); everything after it says COPY.

The original is the first rendering that leaves us: the e-mail to the customer or, where
no e-mail goes out, the first download. Which one it was is claimed on the invoice row
under its lock, so a download racing the e-mail cannot make a second original. While the
e-mail is in flight (claimed, not yet delivered) a retry of it still sends the original,
and downloads get a COPY. Every later rendering (the re-render after TRA's ACK once the
original is out, every download after the first) is a COPY, counted on the invoice.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.audit.service import record
from billing.core.clock import utcnow
from billing.invoicing.models import Invoice

EMAIL = "email"
DOWNLOAD = "download"


def original_is_out(invoice: Invoice) -> bool:
    """The original has reached the customer: e-mailed, or downloaded."""
    if invoice.original_released_at is None:
        return False
    return invoice.original_released_via == DOWNLOAD or invoice.delivered_at is not None


def claim_original(session: Session, actor: str, invoice: Invoice, via: str) -> bool:
    """Take the original for `via` (the caller holds the invoice's row lock): True when
    this rendering is the original; False when it went out already another way."""
    if invoice.original_released_at is not None:
        return invoice.original_released_via == via == EMAIL and invoice.delivered_at is None
    if invoice.pdf_is_copy:
        return False
    invoice.original_released_at, invoice.original_released_via = utcnow(), via
    record(session, actor=actor, action="invoice.original_issued", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"via": via, "number": invoice.number_text})  # fmt: skip
    return True


def count_copy(invoice: Invoice) -> None:
    invoice.copies_issued += 1
