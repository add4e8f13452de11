"""Tigo Pesa (Mixx by Yas) biller collection report.

Where the format comes from: Tigo does not publish its biller portal's export. The
columns here are the push-billing API's own fields, as the public clients define them
(`msomali/tigopesa` push/api.go and `tumainimosha/laravel-tigopesa-push`): the
`MFSTransactionID` Tigo assigns, the `ReferenceID` we sent (our top-up's reference),
`CustomerMSISDN` and `Amount`; with the transaction date, its status, the charge Tigo
deducts and the currency, as a biller's settlement report must carry them. A real
export is to be mapped onto these names at onboarding (inferred format).

Header: `Date,MFSTransactionID,ReferenceID,CustomerMSISDN,Amount,Charges,Currency,Status`.
Status `SUCCESS` rows are payments; a row with Type `SETTLEMENT` (optional column) is
the payout to our bank; anything else is kept as `other`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from billing.settlement.formats.lines import (
    Row,
    StatementLine,
    table_rows,
)

PROVIDER = "tigopesa"
HEADER = "Date,MFSTransactionID,ReferenceID,CustomerMSISDN,Amount,Charges,Currency,Status"
REQUIRED = ("Date", "MFSTransactionID", "ReferenceID", "Amount", "Status")


def parse(lines: Iterable[str]) -> Iterator[StatementLine]:
    for row in table_rows(lines, REQUIRED):
        yield _line(row)


# Our references are 20 characters (billing.topups.service.reference_for); the push sends
# them behind the biller code (providers.tigopesa), which the report repeats.
OUR_REFERENCE = 20


def _ours(reference_id: str | None) -> str | None:
    if reference_id is None or len(reference_id) <= OUR_REFERENCE:
        return reference_id
    return reference_id[-OUR_REFERENCE:]


def _line(row: Row) -> StatementLine:
    occurred_at, day = row.moment("Date")
    status = (row.text("Status") or "").upper()
    kind = "other"
    if (row.text("Type") or "").upper() == "SETTLEMENT":
        kind = "payout"
    elif status in ("SUCCESS", "SUCCESSFUL", "COMPLETED"):
        kind = "payment"
    return StatementLine(
        line_no=row.line_no,
        kind=kind,
        provider=PROVIDER,
        provider_txn_id=row.text("MFSTransactionID", required=kind == "payment"),
        reference=_ours(row.text("ReferenceID")),
        msisdn=row.text("CustomerMSISDN"),
        amount_minor=row.amount("Amount"),
        fee_minor=row.amount("Charges") if kind == "payment" else 0,
        currency=row.currency("Currency", "TZS"),
        occurred_at=occurred_at,
        day=day,
        linked_txn_id=None,
    )
