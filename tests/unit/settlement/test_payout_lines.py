"""A payout's balance transactions in Malipo's terms, and the sum that must come out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.settlement.payouts.lines import kind_of, totals, txn_of
from billing.settlement.payouts.service import pull


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


def test_a_balance_transactions_available_on_is_kept():
    txn = txn_of(_txn("charge", 100, source="ch_1", available_on=1_796_800_000))
    assert txn.available_at == datetime.fromtimestamp(1_796_800_000, UTC)
    assert txn_of(_txn("charge", 100, source="ch_1")).available_at is None


class _Listing:
    def __init__(self, payouts: list[dict]) -> None:
        self.payouts = payouts

    def list_payouts(self, created: dict) -> list[dict]:
        return self.payouts


def test_payouts_are_pulled_oldest_first_and_one_seconds_in_stripes_order():
    """Stripe lists newest first; ids are random, so two payouts of one second keep the
    order Stripe gave (the older one reconciled first), whatever their ids."""

    def payout(id_: str, created: int) -> dict:
        return {"id": id_, "created": created, "automatic": True, "status": "paid"}

    newest_first = [payout("po_A", 20), payout("po_B", 10), payout("po_Z", 10),
                    {**payout("po_F", 5), "status": "failed"}]  # fmt: skip
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    chosen = pull(_Listing(newest_first), since, until)
    assert [p["id"] for p in chosen] == ["po_Z", "po_B", "po_A"]  # not by id
