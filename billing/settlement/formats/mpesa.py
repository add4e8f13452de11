"""M-Pesa business (organisation) statement, as the M-Pesa Org/Business Portal exports it.

Where the format comes from: the M-Pesa G2 platform's organisation statement, whose
CSV export opens with a few preamble lines (organisation name, time period) and then
the header `Receipt No., Completion Time, Initiation Time, Details, Transaction Status,
Paid In, Withdrawn, Balance, Balance Confirmed, Reason Type, Other Party Info, Linked
Transaction ID, A/C No.`. Described publicly by the Mifos M-PESA import specification
(mifosforge wiki: Receipt, Date, Details, Status Completed, Paid In, Withdrawn, Balance,
Transaction Type, Other Party Info, Transaction Party Details) and reproduced by many
open-source importers of the portal's export (e.g. test fixtures that list that exact
header, with `Pay Bill Charge` rows and `Organization Settle to Bank` rows). Vodacom
Tanzania runs the same M-Pesa platform (the same Open API, `vodacomTZN` market); that
its portal exports the identical columns is an inference to check at onboarding.

How it is read:
- `Paid In` on a Completed row is a payment; `Receipt No.` is M-Pesa's transaction id
  (what our top-up stores as `provider_txn_id`) and `A/C No.` the account reference the
  payment carried (our top-up's reference, sent as `input_TransactionReference`).
- A row whose Details or Reason Type names a charge is the fee on the payment named by
  its `Linked Transaction ID`.
- A row settling to a bank (Details/Reason Type "Settle to Bank", "Funds to Bank") is
  the payout to our bank account.
- Anything else (failed or cancelled rows, transfers) is kept as `other`.
Times are East Africa Time; amounts are TZS with two decimals; withdrawals may be
written negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from billing.settlement.formats.lines import (
    Row,
    StatementError,
    StatementLine,
    digits,
    header_index,
    rows,
)

PROVIDER = "mpesa"
RECEIPT = "Receipt No."
REQUIRED = (RECEIPT, "Completion Time", "Details", "Transaction Status", "Paid In", "Withdrawn")
HEADER = (
    "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,"
    "Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,"
    "Linked Transaction ID,A/C No."
)
_PAYOUT_WORDS = ("settle to bank", "funds to bank", "settlement to bank")


def parse(lines: Iterable[str]) -> Iterator[StatementLine]:
    columns: dict[str, int] | None = None
    for line_no, cells in rows(lines):
        if columns is None:  # the preamble, until the header
            if cells and cells[0].strip().lower() == RECEIPT.lower():
                columns = header_index(cells, REQUIRED, line_no)
            continue
        if not any(cell.strip() for cell in cells):
            continue
        yield _line(Row(line_no, cells, columns))
    if columns is None:
        raise StatementError(
            0, "file", f"no header row starting {RECEIPT!r}: not an M-Pesa statement"
        )


def _line(row: Row) -> StatementLine:
    receipt = row.text(RECEIPT, required=True)
    occurred_at, day = row.moment("Completion Time")
    status = (row.text("Transaction Status") or "").lower()
    what = f"{row.text('Details') or ''} {row.text('Reason Type') or ''}".lower()
    paid_in, withdrawn = row.amount("Paid In"), row.amount("Withdrawn")
    kind, amount, linked = "other", paid_in or withdrawn, None
    if status == "completed":
        if "charge" in what and withdrawn:
            kind, linked = "fee", row.text("Linked Transaction ID")
        elif any(word in what for word in _PAYOUT_WORDS) and withdrawn:
            kind = "payout"
        elif paid_in and not withdrawn:
            kind = "payment"
    return StatementLine(
        line_no=row.line_no,
        kind=kind,
        provider=PROVIDER,
        provider_txn_id=receipt,
        reference=row.text("A/C No."),
        msisdn=digits(row.text("Other Party Info")),
        amount_minor=amount,
        fee_minor=0,
        currency="TZS",
        occurred_at=occurred_at,
        day=day,
        linked_txn_id=linked,
    )
