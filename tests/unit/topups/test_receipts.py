"""The payer's top-up receipt: both languages, the payer's clock, one SMS each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.core.money import Currency, Money
from billing.rating.segments import SmsEncoding, count_segments
from billing.topups.receipts import WALLET_NAMES, receipt, receipt_texts

PAID_AT = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 00:30 on 2 December in Dar es Salaam


def texts(provider: str = "mpesa", amount: int = 10_000_00, balance: int = 60_000_00):
    return receipt_texts(
        amount=Money(amount, Currency.TZS),
        balance=Money(balance, Currency.TZS),
        provider=provider,
        msisdn="255754000111",
        reference="QWE12RTY34",
        paid_at=PAID_AT,
    )


def test_the_english_receipt_names_amount_payer_wallet_time_reference_and_balance():
    assert texts()["en"] == (
        "Malipo: TZS 10,000.00 received from 0754000111 by M-Pesa on 02/12/2026 00:30."
        " Ref QWE12RTY34. New balance TZS 60,000.00."
    )


def test_the_swahili_receipt_says_the_same():
    assert texts()["sw"] == (
        "Malipo: Tumepokea TZS 10,000.00 kutoka 0754000111 kwa M-Pesa tarehe 02/12/2026"
        " saa 00:30. Kumb. QWE12RTY34. Salio jipya TZS 60,000.00."
    )


@pytest.mark.parametrize("provider", sorted(WALLET_NAMES))
def test_every_receipt_is_one_gsm7_segment_even_for_the_largest_amounts(provider):
    for language, text in texts(provider, 99_999_999_99, 999_999_999_99).items():
        counted = count_segments(text)
        assert (counted.encoding, counted.segments) == (SmsEncoding.GSM7, 1), (language, text)


def test_the_receipt_carries_recipients_and_integer_amounts():
    data = receipt(
        amount_minor=10_000_00,
        balance_minor=60_000_00,
        currency="TZS",
        provider="halopesa",
        msisdn="255621000111",
        email="billing@duka.co.tz",
        language="sw",
        reference="T123",
        paid_at=PAID_AT,
    )
    assert data["language"] == "sw"
    assert data["recipients"] == {"sms": "255621000111", "email": "billing@duka.co.tz"}
    assert (data["amount"], data["balance"], data["currency"]) == (10_000_00, 60_000_00, "TZS")
    assert "HaloPesa" in data["text"]["en"] and "HaloPesa" in data["text"]["sw"]
