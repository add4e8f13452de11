"""The columnar Asterisk reader (formats.asterisk_columns) yields, item for item, what
`asterisk.parse` with `voice_wire` yields for the same file: on plain files and on every
oddity a Master.csv can hold (quotes, blank lines, CR, BOM, bad UTF-8, a quoted field
across lines, fields with something to strip, bad numbers and stamps, clock changes)."""

import os
import tempfile
from contextlib import contextmanager
from datetime import datetime

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.usage.formats import asterisk, asterisk_columns, fields
from billing.usage.formats.asterisk import SOURCE, AsteriskProfile
from billing.usage.wire import voice_wire

PROFILES = [
    AsteriskProfile(),
    AsteriskProfile(newcdrcolumns=True),
    AsteriskProfile(loguserfield=False),
    AsteriskProfile(loguniqueid=False, loguserfield=False),
    AsteriskProfile(usegmtime=True),
    AsteriskProfile(timezone="Europe/London"),  # clocks change on the hour
    AsteriskProfile(timezone="Australia/Lord_Howe"),  # by half an hour, within an hour
]
ODD_STAMPS = [
    "2026-02-30 10:00:00", "2026-02-29 10:00:00", "2024-02-29 10:00:00", "2026-03-01 24:00:00",
    "2026-03-01 10:60:00", "2026-03-01 10:00:60", " 2026-03-01 10:00:00", "0000-01-01 00:00:00",
    "1899-12-31 23:59:59", "2100-01-01 00:00:00", "2026-03-01T10:00:00", "2026-3-01 10:00:00",
    "2026-03-29 01:30:00", "2026-10-25 01:30:00", "2026-04-05 01:45:00", "2026-10-04 02:15:00",
    "2026-10-04 02:45:00", "", "junk", "\u0662\u0660\u0662\u0666-03-01 10:00:00",
]  # fmt: skip
NUMBERS = ["0754000111", "000441234567", "0057120001", "0067120001", "0", "000", "00", "005",
           "+255754000111", "754000111", "0754 000 111", "\u0660\u0667\u0661\u0662", "",
           " 0754000111", "1" * 40, "1" * 41, "0" + "1" * 40, "07-54", "x"]  # fmt: skip
TEXTS = ["acme", "", " acme", "acme ", "ačme", "a" * 81, "\u3000x", "x\x1f", "a,b", 'say "hi"',
         "two\nlines", "0712345678", "+255 712 345 678", "ü" * 41]  # fmt: skip
SECONDS = ["0", "5", "66", "600", "05", "+5", " 5", "-1", "\u0665", "1_0", "", "9" * 20, "7 "]
DISPOSITIONS = [*asterisk.DISPOSITIONS, "answered", " ANSWERED", "WHATEVER", ""]

CLOCK_CHANGES = ["2026-03-29 00:59:59", "2026-03-29 01:00:00", "2026-03-29 02:00:00",
                 "2026-10-25 00:59:59", "2026-10-25 01:00:00", "2026-10-25 02:00:00",
                 "2026-04-05 01:59:59", "2026-04-05 02:00:00", "2026-10-04 01:59:59",
                 "2026-10-04 02:00:00", "2026-10-04 02:29:59", "2026-10-04 02:30:00",
                 "2026-10-04 03:00:00"]  # fmt: skip
good_stamps = st.one_of(
    st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)).map(
        lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.sampled_from(CLOCK_CHANGES),
)
keys = st.integers(0, 10**6).map(lambda n: f"17724.{n}")


@st.composite
def good_rows(draw) -> dict:
    """A row as Asterisk writes one: every field readable and consistent."""
    duration = draw(st.integers(0, 700))
    billsec = draw(st.integers(0, duration))
    return {
        "accountcode": draw(st.sampled_from(["acme", "ten_b", "", "a" * 80])),
        "src": draw(st.sampled_from(["0712345678", "", "1" * 40])),
        "dst": draw(st.sampled_from(["0754000111", "000441234567", "0057120001",
                                     "0067120001", "0", "754000111", "1" * 40, "1" * 41,
                                     "0" + "1" * 38])),
        "start": draw(good_stamps),
        "answer": draw(good_stamps) if billsec or draw(st.booleans()) else "",
        "end": draw(good_stamps),
        "duration": str(duration),
        "billsec": str(billsec),
        "disposition": draw(st.sampled_from(list(asterisk.DISPOSITIONS))),
        "uniqueid": draw(keys),
        "linkedid": draw(st.one_of(keys, st.sampled_from(["", " 1.2", "L" * 200, "L" * 201]))),
    }  # fmt: skip


EDGES = {  # a field's values at and past the edges of what its reader takes
    "accountcode": TEXTS,
    "src": [*TEXTS, "1" * 41],
    "dst": NUMBERS,
    "start": ODD_STAMPS,
    "answer": ODD_STAMPS,
    "end": ODD_STAMPS,
    "duration": SECONDS,
    "billsec": [*SECONDS, "701"],
    "disposition": DISPOSITIONS,
    "uniqueid": [*TEXTS, ""],
    "linkedid": [*TEXTS, "L" * 200, "L" * 201],
    "clid": TEXTS,
}
edges = st.sampled_from(sorted(EDGES)).flatmap(
    lambda name: st.sampled_from(EDGES[name]).map(lambda value: {name: value})
)
BARE = {"answer", "duration", "billsec"}  # as Asterisk writes them; the rest quoted


def _line(profile: AsteriskProfile, values: dict, style: str) -> str:
    cells = []
    for name in profile.columns:
        value = values.get(name, "x")
        quoted = '"' + value.replace('"', '""') + '"'
        if style == "bare" or (style == "asterisk" and name in BARE):
            cells.append(value)
        else:
            cells.append(quoted)
    return ",".join(cells)


@st.composite
def files(draw) -> tuple[AsteriskProfile, bytes]:
    profile = draw(st.sampled_from(PROFILES))
    lines = []
    for _ in range(draw(st.integers(0, 30))):
        values = draw(good_rows())
        for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
            values |= draw(edges)
        style = draw(st.sampled_from(["asterisk"] * 6 + ["quoted", "bare"]))
        line = _line(profile, values, style)
        if draw(st.integers(0, 30)) == 0:
            line = draw(st.sampled_from(["", '"unterminated', line + ",extra", line[:-5]]))
        lines.append(line.encode())
    text = b"\n".join(lines) + draw(st.sampled_from([b"\n", b"\n", b""]))
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from([b"\xef\xbb\xbf", b""])) + text.replace(
            b"\n", draw(st.sampled_from([b"\r\n", b"\n\n", b"\n\xff\n", b"\n\x00\n"])), 1
        )
    return profile, text


@contextmanager
def _written(data: bytes):
    handle, path = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield path
    finally:
        os.unlink(path)


def _both(path: str, profile: AsteriskProfile, tenant_id: str | None, block: int):
    fields._OFFSETS.clear()  # a stamp's offset is cached by the first one seen in its hour
    fast = list(asterisk_columns.items(path, profile, tenant_id, block=block))
    fields._OFFSETS.clear()
    with open(path, encoding="utf-8", errors="replace", newline="") as lines:
        reference = list(asterisk.parse(lines, profile, voice_wire(SOURCE, tenant_id)))
    return fast, reference


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a file an example: no shrinking
)
@given(
    case=files(),
    tenant_id=st.sampled_from([None, "", "ten_given"]),
    block=st.sampled_from([1, 200, 1000, 1 << 20]),
)
def test_the_columnar_reader_yields_what_the_row_reader_does(case, tenant_id, block):
    profile, data = case
    with _written(data) as path:
        fast, reference = _both(path, profile, tenant_id, block)
    assert fast == reference
    for got, want in zip(fast, reference, strict=True):
        assert [type(value) for value in _values(got)] == [type(value) for value in _values(want)]


def _values(item) -> tuple:
    return item if item.__class__ is tuple else (item.line_no, item.reason, *item.raw)


def _rows_read_in_python(monkeypatch) -> list[int]:
    """The lines the columnar reader hands to `asterisk`'s row reader, as it does so."""
    seen: list[int] = []
    real = asterisk.row_reader

    def counting(profile, build):
        item = real(profile, build)
        return lambda row, line_no: seen.append(line_no) or item(row, line_no)

    monkeypatch.setattr(asterisk_columns, "row_reader", counting)
    return seen


def test_a_plain_file_is_read_in_c_and_its_bad_rows_by_the_row_reader(monkeypatch):
    """The columns do the work on plain rows (the row reader sees only the bad ones), and
    a block that is not plain hands the rest of the file to `asterisk.parse`."""
    profile = AsteriskProfile()
    good = {"accountcode": "acme", "src": "0712345678", "dst": "0754000111",
            "start": "2026-03-02 12:00:00", "answer": "2026-03-02 12:00:05",
            "end": "2026-03-02 12:01:06", "duration": "66", "billsec": "61",
            "disposition": "ANSWERED"}  # fmt: skip
    rows = [good | {"uniqueid": f"u.{n}"} for n in range(50)]
    rows[7] |= {"billsec": "70"}  # exceeds duration
    rows[31] |= {"dst": " 0754000111"}  # something to strip: right, but not plain
    text = "\n".join(_line(profile, row, "asterisk") for row in rows) + "\n"
    seen = _rows_read_in_python(monkeypatch)
    with _written(text.encode()) as path:
        fast, reference = _both(path, profile, None, 1 << 20)
        assert fast == reference and seen == [8, 32]
        assert fast[7].reason == "billsec exceeds duration" and fast[7].line_no == 8
        # A tenant's and a disposition's text, one object for every row: they pickle once.
        assert fast[0][15] is fast[1][15] is fast[49][15] == "acme"
        assert fast[0][12] is fast[49][12] == "ANSWERED"
        read_by_parse = []
        monkeypatch.setattr(asterisk_columns, "parse", lambda lines, *a: read_by_parse.extend(
            lines) or iter(()))  # fmt: skip
        with open(path, "ab") as more:
            more.write(b'"multi\nline"\n')
        list(asterisk_columns.items(path, profile, None, block=1 << 20))
        assert "".join(read_by_parse) == text + '"multi\nline"\n'  # one block, not plain


def test_an_hour_the_offset_changes_within_is_read_by_the_row_reader(monkeypatch):
    """Lord Howe Island's clocks go from 02:00 to 02:30 on 4 October 2026: `fields.stamp`
    takes the offset of the first stamp it sees in an hour for the whole hour, so the
    rows with a stamp in that hour go through the row reader, in order."""
    profile = AsteriskProfile(timezone="Australia/Lord_Howe")
    row = {"accountcode": "acme", "src": "0712345678", "dst": "0754000111", "answer": "",
           "duration": "6", "billsec": "0", "disposition": "NO ANSWER"}  # fmt: skip
    starts = ["2026-10-04 01:59:00", "2026-10-04 02:30:00", "2026-10-04 02:10:00",
              "2026-10-04 03:00:00"]  # fmt: skip
    text = "".join(
        _line(profile, row | {"start": start, "end": start, "uniqueid": f"u.{n}"}, "asterisk")
        + "\n"
        for n, start in enumerate(starts)
    )
    seen = _rows_read_in_python(monkeypatch)
    with _written(text.encode()) as path:
        fast, reference = _both(path, profile, None, 1 << 20)
    assert fast == reference and seen == [2, 3]
    assert fast[1][6] - fast[2][6] == 20 * 60  # 02:10 read at the offset 02:30 has
