"""Airtel Money (Airtel Africa Open API, Tanzania) merchant collections report.

Where the format comes from: Airtel's merchant portal export is not public. The
columns are the Open API's own collection fields (`msomali/airtel` collection.go,
`iplusacademy/moodle-paygw_airtelafrica` airtel_helper.php): `transaction.id` (the id we
sent: our top-up's reference), `airtel_money_id` (Airtel's receipt, what our top-up
stores as `provider_txn_id`), the subscriber's msisdn (nine digits, no country code),
amount and currency, and the transaction status code (`TS` success, `TF` failed); with
the service charge Airtel deducts. An inferred format, to be mapped at onboarding.

Header: `Transaction Date,Transaction ID,Airtel Money ID,MSISDN,Amount,Service Charge,
Currency,Status`. `TS` rows are payments; Status `SETTLED` rows are payouts to our bank.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from billing.settlement.formats.lines import (
    Row,
    StatementLine,
    table_rows,
)

PROVIDER = "airtelmoney"
HEADER = (
    "Transaction Date,Transaction ID,Airtel Money ID,MSISDN,Amount,Service Charge,Currency,Status"
)
REQUIRED = ("Transaction Date", "Transaction ID", "Airtel Money ID", "Amount", "Status")


def parse(lines: Iterable[str]) -> Iterator[StatementLine]:
    for row in table_rows(lines, REQUIRED):
        yield _line(row)


def _line(row: Row) -> StatementLine:
    occurred_at, day = row.moment("Transaction Date")
    status = (row.text("Status") or "").upper()
    kind = {"TS": "payment", "SETTLED": "payout"}.get(status, "other")
    msisdn = row.text("MSISDN")
    if msisdn and msisdn.isdigit() and len(msisdn) == 9:
        msisdn = "255" + msisdn  # Airtel writes the nine national digits
    return StatementLine(
        line_no=row.line_no,
        kind=kind,
        provider=PROVIDER,
        provider_txn_id=row.text("Airtel Money ID", required=kind == "payment"),
        reference=row.text("Transaction ID"),
        msisdn=msisdn,
        amount_minor=row.amount("Amount"),
        fee_minor=row.amount("Service Charge") if kind == "payment" else 0,
        currency=row.currency("Currency", "TZS"),
        occurred_at=occurred_at,
        day=day,
        linked_txn_id=None,
    )
