"""Unit prices print with the fewest decimals that show them exactly: 2 at least, the rate
plan's precision (8) at most; machines get every stored digit that matters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoicing.documents import unit_price_for
from billing.rating.fixedpoint import EXPONENT, MICRO_PER_MINOR
from invoices.pdf.numbers import PRICE_PLACES, exact_price, unit_price


def test_the_print_limit_is_the_rate_plans_precision():
    assert Decimal(1).scaleb(-PRICE_PLACES) == Decimal(1).scaleb(-EXPONENT) / MICRO_PER_MINOR


@pytest.mark.parametrize(
    ("stored", "printed"),
    [
        ("0.0150000000", "0.015"),
        ("100.0000000000", "100.00"),
        ("1234.5000000000", "1,234.50"),
        ("0.0000000100", "0.00000001"),
        ("0.3333333333", "0.33333333"),  # finer than any plan: rounded at the plan's precision
        ("-18.5000000000", "-18.50"),  # a credit note's line
    ],
)
def test_printed(stored, printed):
    assert unit_price(Decimal(stored)) == printed


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=PRICE_PLACES))
def test_any_plan_price_prints_exactly_with_the_fewest_decimals(price):
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
