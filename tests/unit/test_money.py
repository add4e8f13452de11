from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest

from billing.core.money import Currency, Money, to_minor


def test_to_minor_rounds_once_by_the_named_rule():
    assert to_minor(Decimal("12.345"), Currency.TZS) == 1235
    assert to_minor(Decimal("12.345"), Currency.TZS, ROUND_HALF_EVEN) == 1234
    assert to_minor(Decimal("12.349"), Currency.USD, ROUND_DOWN) == 1234
    assert to_minor(Decimal("-0.005"), Currency.TZS) == -1


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_minor(12.5, Currency.TZS)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(12.5, Currency.TZS)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, Currency.TZS)


def test_money_adds_only_within_a_currency():
    assert Money(150, Currency.TZS) + Money(50, Currency.TZS) == Money(200, Currency.TZS)
    assert -Money(5, "USD") == Money(-5, Currency.USD)
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, Currency.TZS) - Money(1, Currency.USD)


def test_money_prints_in_major_units():
    assert str(Money(1_234_567, Currency.TZS)) == "TZS 12,345.67"
    assert Money(250, Currency.USD).major == Decimal("2.50")
