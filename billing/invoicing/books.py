"""What issuing a tax document does to the books: its VAT becomes payable to TRA.

- A top-up receipt: the VAT inside money already in the wallet becomes payable. It is
  held on `vat:prepayments` until prepaid usage draws the wallet down (each prepaid
  debit credits that account with its VAT, `billing.usage.debits`).
- A postpaid invoice: the tenant owes the gross (`receivable`), usage revenue is
  recognised net (postpaid usage is accrued without a posting until then), and the
  VAT becomes payable; the usage stops counting as accrued, and its period as open
  (`billing.usage.accruals`).
- A credit note books like its original: its amounts are negative, so it undoes them.

So `vat:payable` always equals the VAT on the receipts and invoices issued, less
credit notes, as the tax section of DESIGN.md asks. Posted in the finalising
transaction with the key `invoice:<id>`: a document is booked once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.core.money import Currency
from billing.invoicing.models import Invoice, InvoiceSource
from billing.ledger.postings import (
    RECEIVABLE,
    USAGE_REVENUE,
    VAT_ON_PREPAYMENTS,
    VAT_PAYABLE,
    Posting,
)
from billing.ledger.service import post_transaction
from billing.usage.accruals import invoiced


def postings_for(booked_as: InvoiceSource, currency: Currency, net: int, vat: int) -> list[Posting]:
    """The postings of a document that books like `booked_as` (a credit note's are < 0)."""
    if booked_as is InvoiceSource.TOPUP:
        amounts = [(VAT_ON_PREPAYMENTS, -vat), (VAT_PAYABLE, vat)]
    elif booked_as is InvoiceSource.POSTPAID:
        amounts = [(RECEIVABLE, -(net + vat)), (USAGE_REVENUE, net), (VAT_PAYABLE, vat)]
    else:
        raise ValueError(f"a {booked_as} document does not book by itself")
    return [Posting(kind, currency, amount) for kind, amount in amounts if amount]


def book(session: Session, invoice: Invoice, original: Invoice | None) -> int | None:
    """Post the finalised document; None when it moves nothing (a receipt without VAT)."""
    booked_as = original.source if invoice.source is InvoiceSource.CREDIT else invoice.source
    if invoice.source is InvoiceSource.POSTPAID:
        # The period's usage is invoiced now: it stops counting as accrued.
        invoiced(session, invoice.id, invoice.tenant_id, invoice.currency, invoice.net_minor,
                 (invoice.period_start, invoice.period_end))  # fmt: skip
    postings = postings_for(
        booked_as, Currency(invoice.currency), invoice.net_minor, invoice.vat_minor
    )
    if len(postings) < 2:
        return None
    return post_transaction(
        session,
        tenant_id=invoice.tenant_id,
        idempotency_key=f"invoice:{invoice.id}",
        kind=invoice.kind.value,
        postings=postings,
        description=f"{invoice.kind.value.replace('_', ' ')} {invoice.number_text}",
        reference=invoice.id,
    ).id
