from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.vat import (
    STANDARD_RATES,
    VatCode,
    allocate,
    gross_from_net,
    net_from_gross,
    rates_from_taxcodes,
    split_gross,
    tax_lines,
    vat_on_net,
    zreport_rate_label,
)

codes = st.sampled_from(list(VatCode))
amounts = st.integers(min_value=0, max_value=10**11)
signed_amounts = st.integers(min_value=-(10**11), max_value=10**11)
rates = st.decimals(min_value=0, max_value=50, places=2)
line_lists = st.lists(st.tuples(codes, amounts), min_size=1, max_size=30)


def test_codes_map_to_tra_taxcodes():
    assert [c.taxcode for c in VatCode] == [1, 2, 3, 4, 5]
    assert VatCode.from_taxcode(3) is VatCode.C
    assert STANDARD_RATES[VatCode.A] == Decimal(18)
    assert all(STANDARD_RATES[c] == 0 for c in "BCDE")
    with pytest.raises(ValueError):
        VatCode.from_taxcode(0)


def test_zreport_labels():
    assert zreport_rate_label(VatCode.A, Decimal(18)) == "A-18.00"
    assert zreport_rate_label(VatCode.E, Decimal(0)) == "E-0.00"


def test_rates_from_registration_taxcodes():
    rates = rates_from_taxcodes({"CODEA": "18", "CODEB": "10", "CODEC": "0"})
    assert rates[VatCode.B] == Decimal(10)
    assert rates[VatCode.D] == 0 and rates[VatCode.E] == 0


def test_govfd_worked_example():
    # 5,000.00 inclusive at 18% -> 4,237.29 net + 762.71 VAT (GoVFD receipt_test.go)
    assert split_gross(500000, Decimal(18)) == (423729, 76271)


def test_half_up_rounding_of_vat():
    assert vat_on_net(25, Decimal(18)) == 5  # 4.5 -> 5
    assert vat_on_net(-25, Decimal(18)) == -5  # mirrored, not floored


def test_vat_computed_on_summed_net_then_allocated():
    # Three lines of 0.03 each: per-line rounding would give 3 x 0.01 = 0.03 VAT,
    # the rate on the sum is 0.09 x 18% = 0.0162 -> 0.02, allocated to two lines.
    lines, summary = tax_lines([(VatCode.A, 3)] * 3, inclusive=False)
    assert summary[0].vat_minor == 2
    assert [ln.vat_minor for ln in lines] == [1, 1, 0]


def test_summary_is_in_code_order_and_lines_keep_their_order():
    lines, summary = tax_lines(
        [(VatCode.C, 5000), (VatCode.A, 10000), (VatCode.E, 7)], inclusive=False
    )
    assert [r.code for r in summary] == [VatCode.A, VatCode.C, VatCode.E]
    assert [ln.code for ln in lines] == [VatCode.C, VatCode.A, VatCode.E]
    assert lines[1].vat_minor == 1800 and lines[0].vat_minor == 0


def test_allocate_refuses_impossible_totals():
    with pytest.raises(ValueError):
        allocate(5, [Decimal("0.5"), Decimal("0.5")])


@given(line_lists)
def test_exclusive_lines_always_sum_to_summary(items):
    lines, summary = tax_lines(items, inclusive=False)
    for row in summary:
        group = [ln for ln in lines if ln.code == row.code]
        assert sum(ln.net_minor for ln in group) == row.net_minor
        assert sum(ln.vat_minor for ln in group) == row.vat_minor
        assert row.vat_minor == vat_on_net(row.net_minor, row.rate)
    for (code, amount), ln in zip(items, lines, strict=True):
        assert ln.code == code and ln.net_minor == amount
        assert ln.gross_minor == ln.net_minor + ln.vat_minor
        exact = Decimal(amount) * STANDARD_RATES[code] / 100
        assert abs(ln.vat_minor - exact) < 1


@given(line_lists)
def test_inclusive_lines_keep_their_gross_and_sum_to_summary(items):
    lines, summary = tax_lines(items, inclusive=True)
    for (code, amount), ln in zip(items, lines, strict=True):
        assert ln.gross_minor == amount and ln.code == code
        assert ln.net_minor >= 0 and ln.vat_minor >= 0
    for row in summary:
        group = [ln for ln in lines if ln.code == row.code]
        assert sum(ln.gross_minor for ln in group) == row.gross_minor
        assert sum(ln.vat_minor for ln in group) == row.vat_minor
        assert row.net_minor == net_from_gross(row.gross_minor, row.rate)


@given(st.lists(st.tuples(codes, amounts), min_size=1, max_size=20), st.booleans())
def test_credit_note_mirrors_invoice_exactly(items, inclusive):
    lines, summary = tax_lines(items, inclusive=inclusive)
    neg_lines, neg_summary = tax_lines([(c, -a) for c, a in items], inclusive=inclusive)
    assert [(ln.net_minor, ln.vat_minor) for ln in neg_lines] == [
        (-ln.net_minor, -ln.vat_minor) for ln in lines
    ]
    assert [r.vat_minor for r in neg_summary] == [-r.vat_minor for r in summary]


@given(st.lists(st.tuples(codes, signed_amounts), min_size=1, max_size=20), st.booleans())
def test_mixed_signs_still_add_up(items, inclusive):
    lines, summary = tax_lines(items, inclusive=inclusive)
    assert sum(ln.gross_minor for ln in lines) == sum(r.gross_minor for r in summary)
    assert sum(ln.vat_minor for ln in lines) == sum(r.vat_minor for r in summary)


@given(signed_amounts, rates)
def test_exclusive_inclusive_exclusive_is_stable(net, rate):
    assert net_from_gross(gross_from_net(net, rate), rate) == net


@given(signed_amounts, rates)
def test_inclusive_exclusive_inclusive_is_stable_for_every_real_price(net, rate):
    gross = gross_from_net(net, rate)  # any gross a net price can produce
    assert gross_from_net(net_from_gross(gross, rate), rate) == gross


@given(signed_amounts, rates)
def test_split_gross_adds_up_and_is_within_half_a_unit(gross, rate):
    net, vat = split_gross(gross, rate)
    assert net + vat == gross
    assert abs(Decimal(net) - Decimal(gross) * 100 / (100 + rate)) <= Decimal("0.5")


@given(st.lists(st.decimals(min_value=-1000, max_value=1000, places=3), min_size=1, max_size=20))
def test_allocate_sums_and_stays_within_one_unit(ideals):
    total = int(sum(ideals).to_integral_value())
    shares = allocate(total, ideals)
    assert sum(shares) == total
    assert all(abs(s - x) < 1 for s, x in zip(shares, ideals, strict=True))
