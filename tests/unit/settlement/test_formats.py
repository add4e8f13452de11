# ruff: noqa: E501  (statement lines read best whole)
"""Each statement format read from a sample built from its public description; a bad
line refused naming its line and column."""

from __future__ import annotations

import io

import pytest

from billing.settlement.formats import StatementError, parse
from billing.settlement.formats.airtelmoney import HEADER as AIRTEL
from billing.settlement.formats.mpesa import HEADER as MPESA
from billing.settlement.formats.selcom import HEADER as SELCOM
from billing.settlement.formats.tigopesa import HEADER as TIGO


def read(fmt: str, text: str) -> list:
    return list(parse(fmt, text.splitlines(keepends=True)))


def test_an_mpesa_organisation_statement():
    lines = read(
        "mpesa",
        "Organization Name:,MALIPO\nTime Period:,01-12-2026 - 01-12-2026\n\n"
        f"{MPESA}\n"
        'RLA1,01-12-2026 10:05:00,01-12-2026 10:04:58,Pay Bill Online,Completed,"5,000.00",,'
        '"5,000.00",true,Pay Bill Online,255754000111 - JANE DOE,,REF1\n'
        "RLA2,01-12-2026 10:05:01,,Business Pay Bill Charge,Completed,,-60.00,4940.00,true,"
        "Business Pay Bill Charge,,RLA1,\n"
        'RLA3,2026-12-01 17:00:00,,Organization Settle to Bank,Completed,,"-4,940.00",0.00,true,'
        "Withdraw Funds to Bank,CRDB,,\n"
        "RLA4,01-12-2026 11:00:00,,Pay Bill Online,Cancelled,100.00,,0.00,false,,,,REF2\n",
    )
    assert [(x.kind, x.amount_minor) for x in lines] == [
        ("payment", 500000), ("fee", 6000), ("payout", 494000), ("other", 10000),
    ]  # fmt: skip
    payment = lines[0]
    assert (payment.provider_txn_id, payment.reference, payment.msisdn) == (
        "RLA1", "REF1", "255754000111",
    )  # fmt: skip
    assert payment.occurred_at.isoformat() == "2026-12-01T07:05:00+00:00"  # EAT is UTC+3
    assert payment.day == "2026-12-01"
    assert lines[1].linked_txn_id == "RLA1"


def test_a_tigo_pesa_report():
    (line,) = read(
        "tigopesa",
        f"{TIGO}\n2026-12-01 09:00:00,MP261201.0900.A1,REF9,255713000111,1500,25,TZS,SUCCESS\n",
    )
    assert (line.kind, line.provider, line.amount_minor, line.fee_minor) == (
        "payment", "tigopesa", 150000, 2500,
    )  # fmt: skip
    assert (line.provider_txn_id, line.reference) == ("MP261201.0900.A1", "REF9")


def test_an_airtel_money_report():
    (line, payout) = read(
        "airtelmoney",
        f"{AIRTEL}\n01/12/2026 09:00:00,REF7,CI261201.0900.B2,683000111,2000.00,30.00,TZS,TS\n"
        "01/12/2026 18:00:00,,,,1970.00,,TZS,SETTLED\n",
    )
    assert (line.kind, line.msisdn, line.provider_txn_id) == (
        "payment", "255683000111", "CI261201.0900.B2",
    )  # fmt: skip
    assert (payout.kind, payout.amount_minor) == ("payout", 197000)


def test_a_selcom_settlement_report_names_each_operator():
    lines = read(
        "selcom",
        f"{SELCOM}\n"
        "2026-12-01 09:00:00,COLLECTION,REF1,SEL1,SR1,HALOPESA,255623000111,1000.00,15.00,TZS,COMPLETED\n"
        "2026-12-01 09:01:00,COLLECTION,REF2,SEL2,SR2,EZYPESA,255773000111,2000.00,30.00,TZS,COMPLETED\n"
        "2026-12-01 09:02:00,COLLECTION,REF3,SEL3,SR3,TPESA,255733000111,500.00,0,TZS,FAILED\n"
        "2026-12-01 18:00:00,SETTLEMENT,,,SR4,BANK,,2955.00,,TZS,COMPLETED\n",
    )
    assert [(x.kind, x.provider) for x in lines] == [
        ("payment", "halopesa"), ("payment", "ezypesa"), ("other", "tpesa"), ("payout", "selcom"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "text", "line_no", "field"),
    [
        ("mpesa", f"{MPESA}\nR1,01-12-2026 10:00:00,,Pay Bill,Completed,abc,,,,,,,\n", 2, "Paid In"),
        ("mpesa", f"{MPESA}\nR1,31-02-2026 10:00:00,,Pay Bill,Completed,1.00,,,,,,,\n", 2,
         "Completion Time"),
        ("mpesa", f"{MPESA}\nR1,01-12-2026 10:00:00,,Pay Bill,Completed,1.001,,,,,,,\n", 2,
         "Paid In"),
        ("mpesa", "Receipt,When\nR1,now\n", 0, "file"),
        ("mpesa", f"{MPESA}\n,01-12-2026 10:00:00,,Pay Bill,Completed,1.00,,,,,,,\n", 2,
         "Receipt No."),
        ("tigopesa", "Date,Amount\n", 1, "file"),
        ("tigopesa", f"{TIGO}\n2026-12-01 09:00:00,M1,R1,2557,10,0,KES,SUCCESS\n", 2, "Currency"),
        ("selcom", f"{SELCOM}\n2026-12-01 09:00:00,COLLECTION,R1,S1,X,MPESA,1,1,0,TZS,COMPLETED\n",
         2, "Channel"),
        ("airtelmoney", f"{AIRTEL}\n2026-12-01 09:00:00,R1,,683000111,1,0,TZS,TS\n", 2,
         "Airtel Money ID"),
        ("mpesa", f"{MPESA}\nR1\x00,01-12-2026 10:00:00,,Pay Bill,Completed,1.00,,,,,,,\n", 2,
         "Receipt No."),
        ("mpesa", f"{MPESA}\nR1,01-12-2026 10:00:00,,Pay Bill,Completed,1e9,,,,,,,\n", 2, "Paid In"),
        ("mpesa", f"{MPESA}\nR1,01-12-2026 10:00:00,,Pay Bill,Completed,NaN,,,,,,,\n", 2, "Paid In"),
    ],
)  # fmt: skip
def test_a_bad_line_names_its_line_and_column(fmt, text, line_no, field):
    with pytest.raises(StatementError) as refused:
        read(fmt, text)
    assert (refused.value.line_no, refused.value.field) == (line_no, field)


def test_the_mpesa_fast_path_reads_every_line_as_the_careful_one_does():
    from billing.settlement.formats.lines import Row, header_index
    from billing.settlement.formats.mpesa import REQUIRED, _fast_reader, _line

    columns = header_index(MPESA.split(","), REQUIRED, 1)
    fast = _fast_reader(columns)
    rows = [
        'RLA1,01-12-2026 10:05:00,01-12-2026 10:04:58,Pay Bill Online,Completed,"5,000.00",,'
        '"5,000.00",true,Pay Bill Online,255754000111 - JANE DOE,,REF1',
        "RLA2,01-12-2026 10:05:01,,Business Pay Bill Charge,Completed,,-60.5,4940.00,true,"
        "Business Pay Bill Charge,,RLA1,",
        "RLA3,01-12-2026 23:59:59,,Organization Settle to Bank,Completed,,-4940,0.00,true,"
        "Withdraw Funds to Bank,CRDB,,",
        "RLA4,01-12-2026 11:00:00,,Pay Bill Online,Cancelled,100.00,,0.00,false,,,,REF2",
        "RLA5,31-12-2026 00:00:00,,Pay Bill Online,Completed,+7.1,,0.00,true,,2557****111,,",
    ]
    import csv

    for n, cells in enumerate(csv.reader(rows), start=2):
        quick = fast(n, cells)
        assert quick is not None
        assert quick == _line(Row(n, cells, columns))
    # what the fast path cannot vouch for, it leaves to the careful one
    for odd in (
        "R1,2026-12-01 10:00:00,,x,Completed,1.00,,,,,,,",
        "R1,01-12-2026 10:00:00,,x,Completed,1e3,,,,,,,",
        ",01-12-2026 10:00:00,,x,Completed,1.00,,,,,,,",
        "R1\x01,01-12-2026 10:00:00,,x,Completed,1,,,,,,,",
    ):
        assert fast(2, next(csv.reader([odd]))) is None


@pytest.mark.parametrize("remember", [100_000, 2])
def test_the_mpesa_fast_path_remembering_times_and_amounts_reads_as_the_careful_one(
    monkeypatch, remember
):
    """Times and amounts are read once and remembered (and forgotten past a bound): the
    same cell again, a bad one again, or after forgetting, reads as the careful reader."""
    from billing.settlement.formats import mpesa
    from billing.settlement.formats.lines import Row, header_index

    monkeypatch.setattr(mpesa, "_REMEMBER", remember)
    for header in (
        MPESA,
        "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn",
    ):
        names = header.split(",")
        columns = header_index(names, mpesa.REQUIRED, 1)
        fast = mpesa._fast_reader(columns)
        cells_of = {
            13: lambda r, t, d, s, p, w, o="", a="": [
                r,
                t,
                "",
                d,
                s,
                p,
                w,
                "0.00",
                "true",
                d,
                o,
                "",
                a,
            ],
            6: lambda r, t, d, s, p, w, o="", a="": [r, t, d, s, p, w],
        }[len(names)]
        lines = [
            cells_of(
                "R1",
                "01-12-2026 10:05:00",
                "Pay Bill Online",
                "Completed",
                "5,000.00",
                "",
                "255754000111 - A",
                "B1",
            ),
            cells_of(
                "R2",
                "01-12-2026 10:05:00",
                "Pay Bill Online",
                "Completed",
                "5,000.00",
                "",
                "255754000112 - B",
                "B2",
            ),
            cells_of("R3", "01-12-2026 10:05:01", "Pay Bill Charge", "Completed", "", "-60.00"),
            cells_of(
                "R4", "01-12-2026 10:05:00", "Pay Bill Online", "Completed", "7.5", "", "", "B3"
            ),
            cells_of(
                "R5",
                "02-12-2026 00:00:00",
                "Pay Bill Online",
                "Completed",
                "5,000.00",
                "",
                "",
                "B4",
            ),
            cells_of(
                "R6", "01-12-2026 10:05:01", "Pay Bill Online", "Completed", "7.5", "", "", "B5"
            ),
        ]
        for n, cells in enumerate(lines + lines, start=2):
            quick = fast(n, cells)
            assert quick == mpesa._line(Row(n, cells, columns))
        for bad in (["R7", "31-02-2026 10:00:00", "x", "Completed", "1.00", ""],
                    ["R8", "01-12-2026 10:00:00", "x", "Completed", "1e3", ""]):  # fmt: skip
            if len(names) == 6:
                assert fast(2, bad) is None
                assert fast(3, bad) is None  # remembered as unreadable, still unreadable
    # a blank line within the statement is skipped; the lines around it are read
    statement = f"{MPESA}\r\n" + "\r\n".join(
        ",".join(cells)
        for cells in (
            [
                "R1",
                "01-12-2026 10:05:00",
                "",
                "Pay Bill Online",
                "Completed",
                "1.00",
                "",
                "",
                "",
                "",
                "",
                "",
                "B1",
            ],
            [""] * 13,
            [" "] * 13,
            [
                "R2",
                "01-12-2026 10:05:00",
                "",
                "Pay Bill Online",
                "Completed",
                "1.00",
                "",
                "",
                "",
                "",
                "",
                "",
                "B2",
            ],
        )
    )
    assert [line.provider_txn_id for line in read("mpesa", statement)] == ["R1", "R2"]


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\r\nd,,f\r\n",
        "a,b\n\nc\r\n\r\n,\r\n",
        "a,b\rc,d\r",
        " a , b \r\n\t,x\r\n",
        'x,"1,053.00",y\r\nz,"say ""hi""",w\r\n',
        'x,"two\r\nlines",y\r\nnext,row\r\n',
        'x,a"b,c\r\nlast,line',
        "no,newline,at,end",
        'x,"never closed\r\nmore\r\n',
        "nul,\0,here\r\n",
        "\r\n",
        "",
    ],
)
def test_statement_rows_are_what_the_csv_reader_reads(text):
    """The split fast path for lines without quotes gives the rows, line numbers and
    errors the csv module gives (a quoted cell over two lines included)."""
    import csv

    from billing.settlement.formats.lines import rows

    def with_csv(lines):
        reader = csv.reader(lines)
        try:
            return [(reader.line_num, row) for row in reader]
        except csv.Error:
            return ("error", reader.line_num)

    def ours(lines):
        read = []
        try:
            for line_no, row in rows(lines):
                read.append((line_no, row))
        except StatementError as error:
            return ("error", error.line_no)
        return read

    lines = io.StringIO(text, newline="").readlines()
    assert ours(iter(lines)) == with_csv(iter(lines))
