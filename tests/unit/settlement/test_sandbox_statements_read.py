"""What the simulated operators issue, Malipo's parsers read: gross, fee and payout agree;
and the summary a finance clerk reads adds up."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.settlement.formats import parse
from billing.settlement.summary import DaySummary, as_table, fold
from providers.sandbox import statements
from providers.sandbox.payments import Payment, PaymentBook
from providers.sandbox.scenarios import Scenario


def book_of(*amounts: int) -> PaymentBook:
    book = PaymentBook()
    for n, shillings in enumerate(amounts):
        payment = Payment(
            key=f"K{n}", reference=f"T{n:019d}", msisdn="255754000111", asked=shillings,
            scenario=Scenario.SUCCESS, receipt=f"RCPT{n}", callback_url="http://x",
            extra={"transid": f"TX{n}", "channel": "HALOPESA"},
        )  # fmt: skip
        book.add(payment)
        book.settle(payment.key)
    return book


@pytest.mark.parametrize("fmt", ["mpesa", "tigopesa", "airtelmoney", "selcom"])
def test_a_simulated_statement_reads_back(fmt):
    day = datetime.now(UTC).astimezone(statements.EAT).date()
    text = statements.statement_csv(book_of(10_000, 2_500), getattr(statements, fmt), day)
    lines = list(parse(fmt, text.splitlines(keepends=True)))
    payments = [line for line in lines if line.kind == "payment"]
    fees = sum(line.fee_minor for line in payments) + sum(
        line.amount_minor for line in lines if line.kind == "fee"
    )
    (payout,) = [line for line in lines if line.kind == "payout"]
    assert sorted(line.amount_minor for line in payments) == [2_500_00, 10_000_00]
    assert fees == 125_00  # 1 %
    assert payout.amount_minor == 12_500_00 - 125_00
    assert {line.reference for line in payments} == {f"T{0:019d}", f"T{1:019d}"}


def test_a_day_without_payments_has_no_statement():
    assert statements.statement_csv(PaymentBook(), statements.mpesa, date(2026, 1, 1)) is None


def test_the_summary_adds_up_and_reads():
    rows = [
        ("2026-12-01", "mpesa", "TZS", "matched", 3, 30_000_00, 300_00),
        ("2026-12-01", "mpesa", "TZS", "fee_unlinked", 1, 10_00, 0),
        ("2026-12-01", "mpesa", "TZS", "payout", 1, 29_000_00, 0),
        ("2026-12-01", "mpesa", "TZS", "unknown_payment", 2, 5_00, 0),
        ("2026-12-01", "mpesa", "TZS", "fee", 3, 300_00, 0),
    ]
    (day,) = fold(rows)
    assert isinstance(day, DaySummary)
    assert (day.gross_minor, day.fee_minor, day.net_minor) == (30_000_00, 310_00, 29_690_00)
    assert day.unsettled_minor == 690_00 and day.exception_count == 2 and day.lines == 10
    table = as_table([day])
    assert "TZS 30,000.00" in table[1] and "TZS 690.00" in table[1]
    assert table[2].strip() == "2 unknown payment"
