"""The words of a payment reminder, in the tenant's language."""

from __future__ import annotations

from billing.invoicing.documents import payment_instructions
from billing.invoicing.models import Invoice
from invoices.pdf import numbers


def reminder_text(invoice: Invoice, level: int, due_minor: int, language: str) -> tuple[str, str]:
    """(subject, body) of the `level`-th reminder of `invoice`."""
    seller = ((invoice.parties or {}).get("seller") or {}).get("name", "")
    amount = f"{invoice.currency} {numbers.amount(due_minor, invoice.currency)}"
    due = numbers.long_date(invoice.due_on, language) if invoice.due_on else ""
    pay = payment_instructions(invoice)
    how = ""
    if pay is not None:
        how = (f"\n{pay.bank_name}, {pay.account_name}, {pay.account_number}"
               f"\n{pay.mobile_money_name} {pay.mobile_money_number}")  # fmt: skip
    if language == "sw":
        return (
            f"{seller}: kumbusho la {level} la malipo ya ankara {invoice.number_text}",
            f"Ankara {invoice.number_text} ilipaswa kulipwa tarehe {due}. Kiasi kinachodaiwa:"
            f" {amount}.\nTafadhali lipa ukitaja kumbukumbu {invoice.number_text}.{how}\n",
        )
    return (
        f"{seller}: payment reminder {level} for invoice {invoice.number_text}",
        f"Invoice {invoice.number_text} fell due on {due}. Amount due: {amount}.\n"
        f"Please pay quoting {invoice.number_text} as the reference.{how}\n",
    )
