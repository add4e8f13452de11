"""A payout's balance transactions in Malipo's terms, and the sum that must come out."""

from __future__ import annotations

import pytest

from billing.settlement.payouts.lines import kind_of, totals, txn_of


def _txn(type_: str, amount: int, fee: int = 0, **extra) -> dict:
    return {"id": f"txn_{type_}_{amount}", "type": type_, "amount": amount, "fee": fee,
            "currency": "usd", "created": 1_796_600_000, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("txn", "kind"),
    [
        (_txn("charge", 100, source="ch_1"), "charge"),
        (_txn("payment", 100, source="py_1"), "charge"),
        (_txn("refund", -10, source="re_1"), "refund"),
        (_txn("adjustment", -10, 1500, source="dp_1", reporting_category="dispute"), "dispute"),
        (_txn("adjustment", 10, -1500, source="dp_1", reporting_category="dispute_reversal"),
         "dispute"),
        (_txn("adjustment", -10, source={"id": "dp_2", "object": "dispute"}), "dispute"),
        (_txn("adjustment", -10, source="adj_1"), "other"),
        (_txn("stripe_fee", -300), "fee"),
        (_txn("payout", -1000, source="po_1"), "payout"),
    ],
)  # fmt: skip
def test_each_balance_transaction_has_a_kind(txn, kind):
    assert kind_of(txn) == kind


def test_gross_less_fees_refunds_and_disputes_is_the_payout():
    found = [
        txn_of(_txn("charge", 100_000, 2_930, source="ch_1")),
        txn_of(_txn("charge", 50_000, 1_480, source="ch_2")),
        txn_of(_txn("refund", -20_000, source="re_1")),
        txn_of(_txn("adjustment", -50_000, 1_500, source="dp_1", reporting_category="dispute")),
        txn_of(_txn("stripe_fee", -300)),
    ]
    net = sum(t.net_minor for t in found)
    money = totals([*found, txn_of(_txn("payout", -net, source="po_1"))], net)
    assert (money.gross, money.fees, money.refunds, money.disputes) == (
        150_000, 2_930 + 1_480 + 1_500 + 300, 20_000, 50_000,
    )  # fmt: skip
    assert money.computed == net and money.reconciles
    assert money.as_dict()["difference"] == 0


def test_a_payout_that_says_another_amount_does_not_reconcile():
    charge = txn_of(_txn("charge", 10_000, 320, source="ch_1"))
    own = txn_of(_txn("payout", -9_680, source="po_1"))
    assert totals([charge, own], 9_680).reconciles
    assert not totals([charge, own], 9_681).reconciles  # the payout object disagrees
    assert not totals([charge, txn_of(_txn("payout", -9_000))], 9_680).reconciles
    assert totals([charge, own], 9_681).as_dict()["difference"] == 1
    assert totals([charge], 9_680).reconciles  # a listing without the payout's own line


def test_amounts_are_converted_once_to_minor_units():
    txn = txn_of({**_txn("charge", 250_000_00, 7_250_30, source="ch_1"), "currency": "tzs"})
    assert (txn.currency, txn.gross_minor, txn.fee_minor) == ("TZS", 250_000_00, 7_250_30)
