"""Asterisk Master.csv read a block at a time in C (pyarrow), for the parsing process.

The parsing process (`billing.usage.parsing`) spent its CPU turning each row's fields
into values in Python, about 15 µs a row. This reader takes a few MB of the file at a
time, splits it with pyarrow's CSV reader and checks and converts the columns as arrays.
It yields what `asterisk.parse(lines, profile, voice_wire(SOURCE, tenant_id))` yields for
the same file, item for item, which tests/unit/usage/test_asterisk_columns.py holds it to:

* Splitting: a block is split in C only when every line in it has the plain shape of a
  row (`_shape`: the profile's number of fields, each bare or quoted with its quotes
  doubled; no CR, NUL or byte-order mark; valid UTF-8; no field past the csv module's
  limit). There Python's csv module and pyarrow's reader split a line alike, and a line
  is a row. From the first block that is not, the rest of the file is read by
  `asterisk.parse` itself (a quoted field may run across lines, so only it knows where
  the next row starts).
* Values: a row is converted in C only when each field has a form whose value cannot
  differ: plain digits, ASCII stamps of real dates within an hour the zone's offset stays
  the same for, text with nothing for `str.strip` to take and within the length it is
  cut to. Every other row, a bad one included (for its reject's reason), goes through
  `asterisk`'s own row reader, in its place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from functools import reduce
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from billing.rating.plans import Service
from billing.usage.events import Reject
from billing.usage.formats.asterisk import DISPOSITIONS, SOURCE, AsteriskProfile, parse, row_reader
from billing.usage.numbers import SHORT_INTERNATIONAL
from billing.usage.wire import voice_wire

BLOCK = 4 << 20  # bytes read at a time (then to the end of the line)
_FIELD = r'(?:"(?:[^"\n]|"")*"|[^",\n]*)'
_DIGITS = r"^[0-9]{1,15}$"
_NUMBER = r"^[0-9]{1,40}$"
_STAMP = (
    r"^(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
)
_PLAIN = r"^(?:[!-~](?:.*[!-~])?)?$"  # ends in printable ASCII: nothing for strip()
_FORMAT = "%Y-%m-%d %H:%M:%S"
_SHIFT = 613_608 * 3600  # seconds from 1900-01-01 to 1970-01-01: hours are never negative
_EPOCH_1900 = datetime(1900, 1, 1)  # noqa: DTZ001 - a wall clock: the zone is put on per hour
_LAST_SECOND = timedelta(minutes=59, seconds=59)
_DISPOSITION_TEXTS = pa.array(list(DISPOSITIONS))
# One object a value: a chunk's rows then pickle each as a reference to the first (its
# tenants and dispositions: half the bytes a row, half the pickling either side).
_DISPOSITION_NAMES = [disposition.value for disposition in DISPOSITIONS.values()]
_VOICE = Service.VOICE.value
_BOM = b"\xef\xbb\xbf"


def items(
    path: str,
    profile: AsteriskProfile,
    tenant_id: str | None,
    consumed: Callable[[int], None] = lambda size: None,
    block: int = BLOCK,
) -> Iterator[tuple | Reject]:
    """The file's rows as `asterisk.parse` with `voice_wire(SOURCE, tenant_id)` gives them;
    `consumed` is told how much of the file each step read (bytes, then characters)."""
    build = voice_wire(SOURCE, tenant_id)
    reader = _BlockReader(profile, tenant_id, row_reader(profile, build))
    line = 1
    with open(path, "rb") as handle:
        while "uniqueid" in profile.columns:  # without it a row's key is made in Python
            start = handle.tell()
            data = handle.read(block)
            if not data:
                return
            if not data.endswith(b"\n"):
                data += handle.readline()
            rows = reader.rows(data, line)
            if rows is None:
                handle.seek(start)
                break
            consumed(len(data))
            line += len(rows)
            yield from rows
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        for item in parse(_counted(text, consumed), profile, build):
            if item.__class__ is Reject:
                item = replace(item, line_no=item.line_no + line - 1)
            yield item


def _counted(lines: io.TextIOWrapper, consumed: Callable[[int], None]) -> Iterator[str]:
    for text in lines:
        consumed(len(text))
        yield text


class _BlockReader:
    """One block's rows, or None where the block is not split in C (see the module)."""

    def __init__(
        self, profile: AsteriskProfile, tenant_id: str | None, item: Callable[..., Any]
    ) -> None:
        columns = profile.columns
        self.zone = profile.zone
        self.country_code = profile.country_code
        self.tenant_id = tenant_id
        self.item = item
        self.linked = "linkedid" in columns
        row = _FIELD + ("," + _FIELD) * (len(columns) - 1)
        self.shape = r"\A(?:" + row + r"\n)*(?:" + row + r")?\z"  # every line a row
        wanted = ["accountcode", "src", "dst", "start", "answer", "end", "duration",
                  "billsec", "disposition", "uniqueid"]  # fmt: skip
        if self.linked:
            wanted.append("linkedid")
        self.read_options = arrow_csv.ReadOptions(
            column_names=list(columns), use_threads=False, block_size=1 << 30
        )
        self.parse_options = arrow_csv.ParseOptions(
            newlines_in_values=False, ignore_empty_lines=False
        )
        self.convert_options = arrow_csv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            include_columns=wanted,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def rows(self, data: bytes, first_line: int) -> list | None:
        if b"\r" in data or b"\x00" in data or data.startswith(_BOM):  # pyarrow skips a BOM
            return None
        if (
            len(data) > csv.field_size_limit()
            and max(map(len, data.split(b"\n"))) > csv.field_size_limit()
        ):
            return None
        if not pc.match_substring_regex(pa.array([data], pa.binary()), self.shape)[0].as_py():
            return None
        try:  # invalid UTF-8 in a column read is refused here (check_utf8)
            table = arrow_csv.read_csv(
                pa.py_buffer(data), self.read_options, self.parse_options, self.convert_options
            )
        except pa.ArrowInvalid:
            return None
        if table.num_rows != data.count(b"\n") + (not data.endswith(b"\n")):
            return None
        rows, simple = self._converted(table)
        lines: list[str] = []
        for index in pc.indices_nonzero(pc.invert(simple)).to_pylist():
            # As the file is read: decoded with replacement, split where the file splits.
            lines = lines or data.decode("utf-8", "replace").split("\n")
            fields = next(csv.reader([lines[index]], strict=True))
            rows[index] = self.item(fields, first_line + index)
        return rows

    def _converted(self, table: pa.Table) -> tuple[list, pa.ChunkedArray]:
        """Every row as the wire tuple of its converted fields, and which rows those
        are right for (the rest are placeholders)."""
        column = table.column
        disposition = pc.index_in(column("disposition"), value_set=_DISPOSITION_TEXTS)
        duration, duration_ok = _digits(column("duration"))
        billsec, billsec_ok = _digits(column("billsec"))
        answer_text = column("answer")
        answered = pc.not_equal(answer_text, "")
        start, start_ok = _stamp(column("start"))
        answer, answer_ok = _stamp(answer_text)
        end, end_ok = _stamp(column("end"))
        (start, answer, end), uniform = self._utc(start, answer, end)
        dst, dst_ok = _e164(column("dst"), self.country_code)
        source_id = column("uniqueid")
        src, account = column("src"), column("accountcode")
        simple = _all(
            pc.is_valid(disposition), duration_ok, billsec_ok, start_ok, end_ok, dst_ok, uniform,
            pc.or_(pc.invert(answered), answer_ok),
            pc.less_equal(billsec, duration),
            pc.or_(answered, pc.equal(billsec, 0)),
            pc.not_equal(source_id, ""), _plain(source_id, None),
            _plain(src, 40), _plain(account, 80),
        )  # fmt: skip
        linked: Any = repeat("")
        if self.linked:
            simple = pc.and_(simple, _plain(column("linkedid"), 200))
            linked = column("linkedid").to_pylist()
        accounts = _shared(account)
        tenants = repeat(self.tenant_id) if self.tenant_id else [name or None for name in accounts]
        rows = list(
            zip(
                repeat(SOURCE), source_id.to_pylist(), tenants, repeat(_VOICE), src.to_pylist(),
                dst.to_pylist(), start.to_pylist(),
                pc.if_else(answered, answer, pa.scalar(None, pa.int64())).to_pylist(),
                end.to_pylist(), duration.to_pylist(), billsec.to_pylist(), repeat(1),
                [_DISPOSITION_NAMES[index] for index in pc.fill_null(disposition, 0).to_pylist()],
                repeat(""), repeat("regular"), accounts, linked,
            )
        )  # fmt: skip
        return rows, simple

    def _utc(self, *local: pa.ChunkedArray) -> tuple[list[pa.ChunkedArray], pa.ChunkedArray]:
        """Local seconds to UTC epoch seconds by the zone's offset in each local hour, as
        `fields.stamp` moves them; rows with a stamp in an hour the offset changes within
        are not uniform (and go through Python)."""
        hours = [pc.divide(pc.add(seconds, _SHIFT), 3600) for seconds in local]
        seen = pc.unique(pa.chunked_array([chunk for h in hours for chunk in h.chunks]))
        offsets, steady = [], []
        for hour in seen.to_pylist():
            wall = _EPOCH_1900 + timedelta(hours=hour)
            first = wall.replace(tzinfo=self.zone).utcoffset() or timedelta(0)
            last = (wall + _LAST_SECOND).replace(tzinfo=self.zone).utcoffset() or timedelta(0)
            steady.append(first == last and not first.microseconds)
            offsets.append(int(first.total_seconds()))
        offsets_array, steady_array = pa.array(offsets, pa.int64()), pa.array(steady)
        utc, uniform = [], None
        for seconds, hour in zip(local, hours, strict=True):
            at = pc.index_in(hour, value_set=seen)
            utc.append(pc.subtract(seconds, pc.take(offsets_array, at)))
            here = pc.take(steady_array, at)
            uniform = here if uniform is None else pc.and_(uniform, here)
        return utc, uniform


def _shared(text: pa.ChunkedArray) -> list[str]:
    """The column as Python strings, one object a distinct value (see _DISPOSITION_NAMES)."""
    shared: list[str] = []
    for chunk in pc.dictionary_encode(text).chunks:
        values = chunk.dictionary.to_pylist()
        shared += [values[index] for index in chunk.indices.to_pylist()]
    return shared


def _all(*masks: Any) -> Any:
    return reduce(pc.and_, masks)


def _digits(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Plain ASCII digits as int64, and where the text was such (else 0)."""
    ok = pc.match_substring_regex(text, _DIGITS)
    return pc.cast(pc.if_else(ok, text, "0"), pa.int64()), ok


def _stamp(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """`%Y-%m-%d %H:%M:%S` as local epoch seconds, and where it is a moment that
    `datetime.fromisoformat` reads alike: fields in range, and a day the month has
    (strptime rolls 30 February over to March)."""
    ok = pc.match_substring_regex(text, _STAMP)
    safe = pc.if_else(ok, text, "2000-01-01 00:00:00")
    moment = pc.strptime(safe, format=_FORMAT, unit="s")
    day = pc.cast(pc.utf8_slice_codeunits(safe, start=8, stop=10), pa.int64())
    ok = pc.and_(ok, pc.equal(pc.day(moment), day))
    return pc.cast(moment, pa.int64()), ok


def _e164(text: pa.ChunkedArray, country_code: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """`numbers.to_e164` of plain digits, and where the text was such and the number is
    neither empty nor cut (past 40 digits)."""
    ok = pc.match_substring_regex(text, _NUMBER)
    rest = pc.utf8_slice_codeunits(text, start=3)
    # The rules from the last to the first: the first that applies is the outermost.
    national = pc.binary_join_element_wise(country_code, pc.utf8_slice_codeunits(text, start=1), "")
    number = pc.if_else(pc.starts_with(text, "0"), national, text)
    for prefix, country in SHORT_INTERNATIONAL.items():
        number = pc.if_else(
            pc.starts_with(text, prefix), pc.binary_join_element_wise(country, rest, ""), number
        )
    number = pc.if_else(pc.starts_with(text, "000"), rest, number)
    length = pc.utf8_length(number)
    return number, _all(ok, pc.greater(length, 0), pc.less_equal(length, 40))


def _plain(text: pa.ChunkedArray, longest: int | None) -> pa.ChunkedArray:
    """Where `str.strip` leaves the text as it is and a cut at `longest` would too."""
    ok = pc.match_substring_regex(text, _PLAIN)
    if longest is None:
        return ok
    return pc.and_(ok, pc.less_equal(pc.utf8_length(text), longest))
