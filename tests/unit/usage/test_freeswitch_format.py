"""FreeSWITCH mod_cdr_csv: the example and asterisk templates."""

from datetime import UTC, datetime

import pytest

from billing.usage.events import Disposition, Reject, UsageEvent
from billing.usage.formats.freeswitch import ASTERISK_TEMPLATE, FreeSwitchProfile, parse


def example_row(answer="2026-03-02 12:00:05", billsec="61", cause="NORMAL_CLEARING",
                uuid="a1b2", to="0754000111") -> str:  # fmt: skip
    fields = ["Juma", "0712345678", to, "default", "2026-03-02 12:00:00", answer,
              "2026-03-02 12:01:06", "66", billsec, cause, uuid, "b-leg-1", "acme", "PCMA",
              "PCMA"]  # fmt: skip
    return ",".join(f'"{field}"' for field in fields) + "\n"


def test_example_template_all_quoted():
    (event,) = list(parse([example_row()]))
    assert isinstance(event, UsageEvent)
    assert (event.source_id, event.to_number, event.from_number) == (
        "a1b2",
        "255754000111",
        "0712345678",
    )
    assert event.started_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert event.disposition is Disposition.ANSWERED and event.billable_s == 61
    assert event.linked_id == "b-leg-1" and event.account == "acme"


def test_normal_clearing_without_answer_is_not_answered():
    (event,) = list(parse([example_row(answer="", billsec="0")]))
    assert not event.answered
    assert event.disposition is Disposition.FAILED
    assert event.to_usage_record().answered is False


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        ("NO_ANSWER", Disposition.NO_ANSWER),
        ("NO_USER_RESPONSE", Disposition.NO_ANSWER),
        ("USER_BUSY", Disposition.BUSY),
        ("ORIGINATOR_CANCEL", Disposition.CANCEL),
        ("CALL_REJECTED", Disposition.FAILED),
    ],
)
def test_hangup_causes_of_unanswered_calls(cause, expected):
    (event,) = list(parse([example_row(answer="", billsec="0", cause=cause)]))
    assert event.disposition is expected


def test_answered_wins_over_hangup_cause():
    (event,) = list(parse([example_row(cause="ORIGINATOR_CANCEL")]))
    assert event.disposition is Disposition.ANSWERED


def test_asterisk_template_18_columns_with_timezone():
    fields = ["acme", "0712345678", "+255754000111", "default", "Juma <0712345678>",
              "sofia/internal/100", "sofia/external/trunk", "bridge", "sofia/gw/x",
              "2026-03-02 12:00:00", "", "2026-03-02 12:00:30", "30", "0", "NO_ANSWER",
              "default", "uuid-9", ""]  # fmt: skip
    line = ",".join(f'"{field}"' for field in fields) + "\n"
    profile = FreeSwitchProfile(columns=ASTERISK_TEMPLATE, timezone="UTC")
    (event,) = list(parse([line], profile))
    assert event.source_id == "uuid-9" and event.to_number == "255754000111"
    assert event.started_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert event.disposition is Disposition.NO_ANSWER


def test_profile_needs_the_columns_rating_uses():
    with pytest.raises(ValueError, match="uuid"):
        FreeSwitchProfile(columns=("destination_number", "billsec"))


def test_bad_rows_become_rejects_in_order():
    rows = [
        example_row(),
        '"too","few"\n',
        example_row(billsec="70"),
        example_row(uuid=""),
        example_row(to=""),
        example_row(uuid="z"),
    ]
    results = list(parse(rows))
    assert [isinstance(result, Reject) for result in results] == [
        False, True, True, True, True, False
    ]  # fmt: skip
    assert [result.line_no for result in results] == [1, 2, 3, 4, 5, 6]
