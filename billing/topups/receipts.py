"""The payer's receipt for a credited top-up, handed to the platform to send by SMS and e-mail.

Malipo bills a communications platform, so it runs no SMS gateway or mail relay of its
own for receipts: the receipt travels inside the `topup.succeeded` event (stored, signed
and retried like every platform event) as `receipt`, with the recipients, the text in
English and Swahili and the tenant's language (the one to send), and the platform's own
SMS and e-mail senders deliver it. Each text fits one GSM-7 SMS segment, so a receipt
costs the tenant one message.

The fiscal receipt with TRA's verification code is a separate document (invoicing).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from billing.core.money import Currency, Money

LOCAL_TIME = ZoneInfo("Africa/Dar_es_Salaam")  # receipts speak the payer's clock (EAT)

WALLET_NAMES = {
    "mpesa": "M-Pesa",
    "tigopesa": "Mixx by Yas",  # Tigo Pesa's name since the Yas rebrand
    "airtelmoney": "Airtel Money",
    "halopesa": "HaloPesa",
    "tpesa": "T-Pesa",
    "ezypesa": "Ezypesa",
    "card": "card",
}


def receipt_texts(
    *,
    amount: Money,
    balance: Money,
    provider: str,
    msisdn: str | None,
    reference: str,
    paid_at: datetime,
) -> dict[str, str]:
    """`{"en": ..., "sw": ...}`: one SMS each, amounts as `TZS 10,000.00`."""
    wallet = WALLET_NAMES.get(provider, provider)
    payer = f"0{msisdn[-9:]}" if msisdn else wallet
    when = paid_at.astimezone(LOCAL_TIME)
    return {
        "en": (
            f"Malipo: {amount} received from {payer} by {wallet} on"
            f" {when:%d/%m/%Y %H:%M}. Ref {reference}. New balance {balance}."
        ),
        "sw": (
            f"Malipo: Tumepokea {amount} kutoka {payer} kwa {wallet} tarehe"
            f" {when:%d/%m/%Y} saa {when:%H:%M}. Kumb. {reference}. Salio jipya {balance}."
        ),
    }


def receipt(
    *,
    amount_minor: int,
    balance_minor: int,
    currency: str,
    provider: str,
    msisdn: str | None,
    email: str | None,
    language: str,
    reference: str,
    paid_at: datetime,
) -> dict:
    """`topup.succeeded`'s `receipt`: who to tell, and what to say (`language` is the
    tenant's, the text to send; both are there for a payer who reads the other)."""
    money = Currency(currency)
    return {
        "recipients": {"sms": msisdn, "email": email},
        "language": language,
        "amount": amount_minor,
        "balance": balance_minor,
        "currency": currency,
        "text": receipt_texts(
            amount=Money(amount_minor, money),
            balance=Money(balance_minor, money),
            provider=provider,
            msisdn=msisdn,
            reference=reference,
            paid_at=paid_at,
        ),
    }
