"""Selcom (aggregator) settlement report: HaloPesa, T-Pesa and Ezypesa collections.

Where the format comes from: Selcom's checkout API (`selcompaytechltd/selcom-apigw-
client-python`, `bryceandy/laravel-selcom` HandlesCheckout.php) names each collection by
`order_id` (ours: the top-up's reference), `transid`, Selcom's `reference`, the payer's
`msisdn`, `amount`, the wallet `channel` and `payment_status` (COMPLETED), and lists
them for reconciliation with `checkout/list-orders?fromdate&todate`. Selcom's portal
settlement export is not public: this report carries those fields plus the charge
Selcom deducts and the net it settles, which is what an aggregator's settlement report
must show (an inferred layout, to be mapped onto the real export at onboarding).

Header: `Date,Type,Order ID,Transaction ID,Selcom Reference,Channel,MSISDN,Amount,
Charges,Currency,Status`. Type `COLLECTION` with Status `COMPLETED` is a payment on the
channel's operator; Type `SETTLEMENT` is the payout to our bank.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from billing.settlement.formats.lines import (
    Row,
    StatementError,
    StatementLine,
    table_rows,
)

OPERATORS = ("halopesa", "tpesa", "ezypesa")
CHANNELS = {
    "HALOPESA": "halopesa",
    "TPESA": "tpesa",
    "TTCLPESA": "tpesa",
    "EZYPESA": "ezypesa",
}
HEADER = (
    "Date,Type,Order ID,Transaction ID,Selcom Reference,Channel,MSISDN,Amount,Charges,"
    "Currency,Status"
)
REQUIRED = ("Date", "Type", "Order ID", "Transaction ID", "Channel", "Amount", "Status")


def parse(lines: Iterable[str]) -> Iterator[StatementLine]:
    for row in table_rows(lines, REQUIRED):
        yield _line(row)


def _line(row: Row) -> StatementLine:
    occurred_at, day = row.moment("Date")
    kind_of_row = (row.text("Type") or "").upper()
    status = (row.text("Status") or "").upper()
    kind, provider = "other", "selcom"
    if kind_of_row == "SETTLEMENT":
        kind = "payout"
    elif kind_of_row == "COLLECTION":
        channel = (row.text("Channel", required=True) or "").upper().replace("-", "")
        if channel not in CHANNELS:
            raise StatementError(
                row.line_no, "Channel", f"not an operator Selcom settles for us: {channel!r}"
            )
        provider = CHANNELS[channel]
        kind = "payment" if status == "COMPLETED" else "other"
    return StatementLine(
        line_no=row.line_no,
        kind=kind,
        provider=provider,
        provider_txn_id=row.text("Transaction ID", required=kind == "payment"),
        reference=row.text("Order ID"),
        msisdn=row.text("MSISDN"),
        amount_minor=row.amount("Amount"),
        fee_minor=row.amount("Charges") if kind == "payment" else 0,
        currency=row.currency("Currency", "TZS"),
        occurred_at=occurred_at,
        day=day,
        linked_txn_id=None,
    )
