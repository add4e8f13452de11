"""Unit prices print with the fewest decimals that show them exactly: 2 at least, 4 at
most (an accountant's precision, never the 10 stored); machines get every stored digit
that matters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoicing.documents import unit_price_for
from billing.rating.fixedpoint import EXPONENT, MICRO_PER_MINOR
from invoices.pdf.numbers import PRICE_PLACES, PRINT_PLACES, exact_price, unit_price


def test_the_print_limit_is_the_rate_plans_precision():
    assert Decimal(1).scaleb(-PRICE_PLACES) == Decimal(1).scaleb(-EXPONENT) / MICRO_PER_MINOR


@pytest.mark.parametrize(
    ("stored", "printed"),
    [
        ("0.0150000000", "0.015"),
        ("100.0000000000", "100.00"),
        ("1234.5000000000", "1,234.50"),
        ("0.0000000100", "0.00000001"),  # the plan's finest, never "0.00"
        ("0.0001234567", "0.0001235"),
        ("0.3333333333", "0.3333"),  # an average price: rounded at 4 decimals
        ("161.9676064787", "161.9676"),  # TZS 2,700.00 for 16.67 minutes
        ("0.0125000000", "0.0125"),
        ("-18.5000000000", "-18.50"),  # a credit note's line
    ],
)
def test_printed(stored, printed):
    assert unit_price(Decimal(stored)) == printed


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=PRINT_PLACES))
def test_any_price_of_up_to_4_decimals_prints_exactly_with_the_fewest_decimals(price):
    stored = price.quantize(Decimal("1E-10"))  # as invoice_lines holds it
    text = unit_price(stored).replace(",", "")
    assert Decimal(text) == price
    decimals = len(text.partition(".")[2])
    assert decimals == max(2, -price.normalize().as_tuple().exponent)


def test_machines_get_the_exact_stored_value():
    price = unit_price_for(2_700_00, Decimal("16.67"))  # TZS 2,700.00 for 16.67 minutes
    assert exact_price(price) == "161.9676064787" and Decimal(exact_price(price)) == price
    assert exact_price(Decimal("0.0150000000")) == "0.015"
    assert exact_price(Decimal("25000")) == "25000.00"


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=10))
def test_no_printed_unit_price_has_more_than_4_decimals(price):
    text = unit_price(price)
    printed = Decimal(text.replace(",", ""))
    if abs(price) >= 1:
        assert 2 <= len(text.partition(".")[2]) <= PRINT_PLACES
        assert abs(printed - price) <= Decimal("0.00005")
    else:  # 4 significant digits, to the plan's precision
        assert len(text.partition(".")[2]) <= PRICE_PLACES
        assert abs(printed - price) <= max(abs(price) / 1000, Decimal("0.000000005"))
