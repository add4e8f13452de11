"""Where an invoice stands, and which moves are allowed (pure: no I/O).

    draft ──finalise──▶ finalised ──ACK 0──▶ fiscalised ──delivered──▶ sent
      │                     └──────────delivered (TRA down)──────────▶ sent
      └─void

A finalised document is never voided or edited: a correction is a credit note. Delivery
does not wait for TRA (RULES #19: issue first, post in order later), so a document can
be `sent` before TRA acknowledges it; `fiscal_status` tells that part separately.
"""

from __future__ import annotations

from enum import StrEnum

from invoices.document import DocumentKind


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    VOID = "void"
    FINALISED = "finalised"
    FISCALISED = "fiscalised"
    SENT = "sent"


class FiscalStatus(StrEnum):
    NOT_DUE = "not_due"  # a draft: nothing to send yet
    PENDING = "pending"  # signed and stored, waiting for its turn or for TRA
    ACKNOWLEDGED = "acknowledged"  # ACK 0: never sent again
    NOT_FISCALISED = "not_fiscalised"  # credit notes: TRA has published no message for them


class InvoiceSource(StrEnum):
    POSTPAID = "postpaid"  # a month of rated usage
    TOPUP = "topup"  # a prepaid top-up: the payment is the tax point
    CREDIT = "credit"  # a credit note against an invoice


class TransitionRefused(Exception):
    """The move is not allowed from the document's current state."""


FINAL = frozenset({InvoiceStatus.FINALISED, InvoiceStatus.FISCALISED, InvoiceStatus.SENT})


def finalise(status: InvoiceStatus) -> InvoiceStatus:
    if status is not InvoiceStatus.DRAFT:
        raise TransitionRefused(f"only a draft can be finalised; this one is {status}")
    return InvoiceStatus.FINALISED


def void(status: InvoiceStatus) -> InvoiceStatus:
    if status in FINAL:
        raise TransitionRefused("a finalised document cannot be voided: issue a credit note")
    if status is not InvoiceStatus.DRAFT:
        raise TransitionRefused(f"this document is {status}")
    return InvoiceStatus.VOID


def acknowledged(status: InvoiceStatus) -> InvoiceStatus:
    """TRA said ACK 0. A document already sent stays sent."""
    if status not in FINAL:
        raise TransitionRefused(f"a {status} document has no receipt to acknowledge")
    return InvoiceStatus.SENT if status is InvoiceStatus.SENT else InvoiceStatus.FISCALISED


def delivered(status: InvoiceStatus) -> InvoiceStatus:
    if status not in FINAL:
        raise TransitionRefused(f"a {status} document cannot be delivered")
    return InvoiceStatus.SENT


def can_credit(status: InvoiceStatus, kind: DocumentKind) -> bool:
    """Credit notes adjust a finalised invoice, never a draft or another credit note."""
    return kind is DocumentKind.INVOICE and status in FINAL
