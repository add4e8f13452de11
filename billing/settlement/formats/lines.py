"""What every statement parser yields, and the readers of the cells they share (pure)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import chain
from typing import NamedTuple

# Tanzania keeps East Africa Time all year (no daylight saving): operators' statements
# are written in it.
EAT = timezone(timedelta(hours=3), "EAT")
MAX_CELL = 200
_AMOUNT = re.compile(r"[-+]?[0-9]{1,15}(\.[0-9]{1,2})?")  # major units, two decimals at most


class StatementLine(NamedTuple):
    """One line of a statement, in the order the staging table takes it.

    kind: `payment` (money a payer paid us), `fee` (the provider's charge, standing
    alone and linked to its payment by `linked_txn_id`), `payout` (the provider paid
    our bank) or `other` (anything else: failed attempts, reversals, transfers).
    """

    line_no: int
    kind: str
    provider: str  # the operator whose top-up it settles (an aggregator names it per line)
    provider_txn_id: str | None
    reference: str | None  # our top-up's reference, where the statement carries it
    msisdn: str | None
    amount_minor: int  # always positive; `kind` says which way it went
    fee_minor: int  # a fee the statement reports on the line itself
    currency: str
    occurred_at: datetime  # UTC
    day: str  # the local (EAT) date, YYYY-MM-DD: the statement day it belongs to
    linked_txn_id: str | None


class StatementError(ValueError):
    """A line the parser cannot read; `field` names the column (or `file`)."""

    def __init__(self, line_no: int, field: str, message: str) -> None:
        where = f"line {line_no}: " if line_no else ""
        super().__init__(f"{where}{field}: {message}")
        self.line_no = line_no
        self.field = field
        self.message = message


def rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with their 1-based line numbers, as `csv.reader` reads them.

    A line with no quote (nearly every line of a statement) is split on its commas, which
    is what the reader makes of it at a fifth of the cost; a line with a quote, and the
    lines its record spans, go to the reader itself."""
    source = iter(lines)
    line_no = 0
    for line in source:
        line_no += 1
        if '"' not in line and "\0" not in line:
            text = line.rstrip("\r\n")
            yield line_no, text.split(",") if text else []
            continue
        reader = csv.reader(chain((line,), source))  # reads no further than its record
        try:
            row = next(reader)
        except csv.Error as error:
            raise StatementError(
                line_no + reader.line_num - 1, "file", f"not CSV: {error}"
            ) from None
        line_no += reader.line_num - 1
        yield line_no, row


def header_index(found: Sequence[str], required: Sequence[str], line_no: int) -> dict[str, int]:
    names = {name.strip().lower(): i for i, name in enumerate(found)}
    missing = [name for name in required if name.lower() not in names]
    if missing:
        raise StatementError(line_no, "file", f"header lacks {', '.join(missing)}")
    # Looked up as the parsers spell them, and in any case: each cell read is one probe.
    return {**names, **{name.strip(): i for i, name in enumerate(found)}}


class Row:
    """One data row, read by column name; every reader says which column failed."""

    __slots__ = ("cells", "columns", "line_no")

    def __init__(self, line_no: int, cells: list[str], columns: dict[str, int]) -> None:
        self.line_no = line_no
        self.cells = cells
        self.columns = columns

    def text(self, column: str, *, required: bool = False) -> str | None:
        index = self.columns.get(column)
        if index is None:
            index = self.columns.get(column.lower())
        cells = self.cells
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        if len(value) > MAX_CELL:
            raise StatementError(self.line_no, column, f"longer than {MAX_CELL} characters")
        if not value:
            if required:
                raise StatementError(self.line_no, column, "is empty")
            return None
        if not value.isprintable():
            raise StatementError(self.line_no, column, "holds control characters")
        return value

    def amount(self, column: str) -> int:
        """A decimal amount in major units ("1,053.00", "-60.00", "") as positive minor
        units; at most two decimals (TZS and USD both have two)."""
        value = self.text(column)
        if value is None:
            return 0
        plain = value.replace(",", "")
        if not _AMOUNT.fullmatch(plain):
            raise StatementError(self.line_no, column, f"not an amount: {value!r}")
        minor = abs(int(Decimal(plain).scaleb(2)))
        if minor >= 10**15:
            raise StatementError(self.line_no, column, "too large")
        return minor

    def moment(self, column: str) -> tuple[datetime, str]:
        """A local (EAT) time, `YYYY-MM-DD HH:MM:SS` or `DD-MM-YYYY HH:MM:SS` (either with
        `/`): the UTC instant and the local date."""
        value = self.text(column, required=True) or ""
        text = value.replace("/", "-").replace("T", " ")
        if len(text) >= 10 and text[2] == "-" and text[5] == "-":
            text = f"{text[6:10]}-{text[3:5]}-{text[0:2]}{text[10:]}"
        try:
            local = datetime.fromisoformat(text)
        except ValueError:
            raise StatementError(self.line_no, column, f"not a date and time: {value!r}") from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=EAT)
        return local.astimezone(UTC), local.astimezone(EAT).date().isoformat()

    def currency(self, column: str, default: str) -> str:
        value = (self.text(column) or default).upper()
        if value not in ("TZS", "USD"):
            raise StatementError(self.line_no, column, f"not a currency we settle: {value!r}")
        return value


def table_rows(lines: Iterable[str], required: Sequence[str]) -> Iterator[Row]:
    """The rows of a plain table: the first non-blank line is its header (naming every
    `required` column), blank lines are skipped; a file with no header is an error."""
    columns: dict[str, int] | None = None
    for line_no, cells in rows(lines):
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = header_index(cells, required, line_no)
            continue
        yield Row(line_no, cells, columns)
    if columns is None:
        raise StatementError(0, "file", "empty: no header row")


def minor_or_none(value: str) -> int | None:
    """`amount`'s fast path: "1,053.00" or "-60.00" as positive minor units; None when it
    is not plainly an amount (the caller then reads the line the slow way, for the error)."""
    plain = value.replace(",", "")
    if not plain:
        return 0
    if not _AMOUNT.fullmatch(plain):
        return None
    whole, _, cents = plain.lstrip("+-").partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def digits(value: str | None) -> str | None:
    """The leading number of a party cell ("255754000111 - JANE DOE"); a masked one
    ("2557****111") is kept as it is: it is evidence, never matched on."""
    if not value:
        return None
    return value.split(" - ", 1)[0].strip()[:40] or None
