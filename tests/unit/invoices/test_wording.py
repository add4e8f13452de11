"""Lines and zones named in the document's language; durations as a person reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.pdf.wording import (
    adjustment_description,
    annex_units,
    duration,
    usage_description,
    with_unit,
    zone_name,
)


@pytest.mark.parametrize(
    ("service", "zone", "en", "sw"),
    [
        ("voice", "TZ-MOB-YAS", "Voice calls to Yas mobile", "Simu kwenda Yas"),
        ("sms", "TZ-MOB-VODACOM", "SMS to Vodacom mobile", "SMS kwenda Vodacom"),
        ("voice", "TZ-FIX", "Voice calls to Tanzania fixed lines",
         "Simu kwenda simu za mezani Tanzania"),
        ("voice", "INT-KE-MOB", "Voice calls to Kenya mobile",
         "Simu kwenda Kenya (simu za mkononi)"),
        ("whatsapp", "INT-CN", "WhatsApp messages to China", "Ujumbe wa WhatsApp kwenda Uchina"),
        ("number_rental", "*", "Number rental", "Ukodishaji wa namba"),
    ],
)  # fmt: skip
def test_usage_lines_read_in_the_documents_language(service, zone, en, sw):
    assert usage_description(service, zone, "en") == en
    assert usage_description(service, zone, "sw") == sw


def test_an_unknown_zone_is_printed_as_it_is_never_guessed():
    assert zone_name("XX-WHATEVER", "sw") == "XX-WHATEVER"
    assert zone_name("INT-ZZ", "en") == "INT-ZZ"


def test_adjustment_lines_name_their_month():
    line = usage_description("voice", "TZ-MOB-YAS", "sw")
    assert adjustment_description("late", "2026-10", line, "sw") == (
        "Matumizi yaliyochelewa ya Oktoba 2026: Simu kwenda Yas"
    )


@pytest.mark.parametrize(
    ("seconds", "en", "sw"),
    [(180, "3 min", "dak 3"), (125, "2 min 5 s", "dak 2 sek 5"), (45, "45 s", "sek 45"),
     (3725, "1 h 2 min 5 s", "saa 1 dak 2 sek 5"), (0, "0 s", "sek 0")],
)  # fmt: skip
def test_durations(seconds, en, sw):
    assert duration(seconds, "en") == en and duration(seconds, "sw") == sw


@given(st.integers(min_value=0, max_value=10**7))
def test_a_duration_adds_back_up_to_its_seconds(seconds):
    units = {"h": 3600, "min": 60, "s": 1}
    words = duration(seconds, "en").split()
    assert sum(int(n) * units[u] for n, u in zip(words[::2], words[1::2], strict=True)) == seconds


def test_units_and_counts():
    assert with_unit("2,000", "message", Decimal(2000), "en") == "2,000 messages"
    assert with_unit("2,000", "message", Decimal(2000), "sw") == "jumbe 2,000"
    assert with_unit("9", "minute", Decimal(9), "sw") == "9 dakika"
    assert with_unit("-3", "minute", Decimal(-3), "en") == "-3 min"
    assert annex_units(180, "second", "en") == "3 min"
    assert annex_units(1, "segment", "en") == "1 segment"
