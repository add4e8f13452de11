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
from datetime import UTC, datetime
from operator import itemgetter

from billing.settlement.formats.lines import (
    EAT,
    MAX_CELL,
    Row,
    StatementError,
    StatementLine,
    digits,
    header_index,
    minor_or_none,
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
_REMEMBER = 100_000  # distinct times or amounts the fast reader keeps read


def parse(lines: Iterable[str]) -> Iterator[StatementLine]:
    columns: dict[str, int] | None = None
    read_fast = None
    for line_no, cells in rows(lines):
        if columns is None:  # the preamble, until the header
            if cells and cells[0].strip().lower() == RECEIPT.lower():
                columns = header_index(cells, REQUIRED, line_no)
                read_fast = _fast_reader(columns)
            continue
        line = read_fast(line_no, cells) if read_fast else None
        if line is not None:  # a line the fast reader takes names a receipt: not blank
            yield line
        elif any(cell.strip() for cell in cells):
            yield _line(Row(line_no, cells, columns))
    if columns is None:
        raise StatementError(
            0, "file", f"no header row starting {RECEIPT!r}: not an M-Pesa statement"
        )


_COLUMNS = (RECEIPT, "Completion Time", "Details", "Transaction Status", "Paid In", "Withdrawn",
            "Reason Type", "Other Party Info", "Linked Transaction ID", "A/C No.")  # fmt: skip


def _fast_reader(columns: dict[str, int]):
    """The common line read with no per-cell bookkeeping; None for anything unusual, which
    `_line` then reads cell by cell (and names the cell at fault).

    A day's statement repeats its completion times (a second at most 86,400 ways) and its
    amounts: each distinct cell is read once and remembered (bounded, for odd files)."""
    at = [columns.get(name.lower(), -1) for name in _COLUMNS]
    width = max(at) + 1
    moments: dict[str, tuple[datetime, str] | None] = {}
    amounts: dict[str, int | None] = {}
    new_line = tuple.__new__
    pick = itemgetter(*at) if min(at) >= 0 else None  # every column there: one C call
    strip = str.strip

    def moment(when: str) -> tuple[datetime, str] | None:
        if len(moments) >= _REMEMBER:
            moments.clear()
        try:
            local = datetime.fromisoformat(f"{when[6:10]}-{when[3:5]}-{when[0:2]}{when[10:]}")
        except ValueError:
            read = None
        else:
            read = (local.replace(tzinfo=EAT).astimezone(UTC), local.date().isoformat())
        moments[when] = read
        return read

    def amount(cell: str) -> int | None:
        if len(amounts) >= _REMEMBER:
            amounts.clear()
        minor = amounts[cell] = minor_or_none(cell)
        return minor

    def read(line_no: int, cells: list[str]) -> StatementLine | None:
        if len(cells) < width:
            return None
        receipt, when, details, status, paid_in, withdrawn, reason, party, linked, account = (
            map(strip, pick(cells)) if pick else [cells[i].strip() if i >= 0 else "" for i in at]
        )
        if not receipt or len(when) != 19 or when[2] != "-" or when[5] != "-":
            return None
        paid = amounts[paid_in] if paid_in in amounts else amount(paid_in)
        out = amounts[withdrawn] if withdrawn in amounts else amount(withdrawn)
        stored = receipt + account + party + linked
        if paid is None or out is None or len(stored) > MAX_CELL or not stored.isprintable():
            return None
        instant = moments[when] if when in moments else moment(when)
        if instant is None:
            return None
        what = f"{details} {reason}".lower()
        kind, linked_id = "other", None
        if status.lower() == "completed":
            if "charge" in what and out:
                kind, linked_id = "fee", linked or None
            elif out and any(word in what for word in _PAYOUT_WORDS):
                kind = "payout"
            elif paid and not out:
                kind = "payment"
        return new_line(StatementLine, (
            line_no, kind, PROVIDER, receipt, account or None,
            party.split(" - ", 1)[0].strip()[:40] or None, paid or out, 0, "TZS",
            instant[0], instant[1], linked_id,
        ))  # fmt: skip

    return read


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
