"""SMS segments: the reference/usage.md §2 vectors (Twilio-verified) and properties."""

import pytest
import regex
from hypothesis import example, given
from hypothesis import strategies as st

from billing.rating.graphemes import graphemes
from billing.rating.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsEncoding,
    count_segments,
    part_capacity,
)

GSM, UCS = SmsEncoding.GSM7, SmsEncoding.UCS2


def check(text: str, encoding: SmsEncoding, units: int, segments: int) -> None:
    result = count_segments(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_empty_message_is_one_gsm_segment():
    check("", GSM, 0, 1)


def test_160_and_161_plain_characters():
    check("a" * 160, GSM, 160, 1)
    check("a" * 161, GSM, 161, 2)


def test_extension_character_costs_two_septets():
    check("a" * 158 + "€", GSM, 160, 1)
    check("a" * 159 + "€", GSM, 161, 2)


def test_escape_pair_never_straddles_parts():
    # 306 septets fit two 153-septet parts by arithmetic, but € would sit on the seam.
    check("a" * 152 + "€" + "a" * 152, GSM, 306, 3)


def test_every_extension_character_is_two_septets():
    for char in "^{}\\[~]|€\f":
        check(char, GSM, 2, 1)


def test_gsm_basic_set_stays_gsm_including_swahili_text():
    check("Habari yako? Salio lako ni TZS 5,000. Asante!", GSM, 45, 1)
    check("ÇÉÑÖÜßÆØÅ¿¡§¤£¥èéùìòàäöñüæøåΔΦΓΛΩΠΨΣΘΞ_@$\r\n", GSM, 43, 1)


def test_non_gsm_characters_force_ucs2():
    # backtick, tab, lowercase c-cedilla, curly quotes, an emoji
    for char in ("`", "\t", "ç", "\u2019", "\u201c", "\u201d", "😜"):
        assert count_segments("abc" + char).encoding is UCS, char


def test_surrogate_pair_emoji_at_the_70_unit_limit():
    check("😜" + "b" * 68, UCS, 70, 1)
    check("😜" + "b" * 69, UCS, 71, 2)


def test_flag_emoji_at_the_70_unit_limit():
    check("🇹🇿" + "b" * 66, UCS, 70, 1)
    check("🇹🇿" + "b" * 67, UCS, 71, 2)


def test_surrogate_pair_never_straddles_parts():
    check("ą" * 66 + "😜" + "ą" * 66, UCS, 134, 3)


def test_zwj_sequence_counts_all_its_code_units_and_stays_whole():
    check("🏳️‍🌈", UCS, 6, 1)
    # 64 units then a 6-unit cluster: it cannot share part one (3 units free), so
    # part two needs 6 + 62 = 68 > 67 units although 132 units fit two parts by arithmetic.
    check("ą" * 64 + "🏳️‍🌈" + "ą" * 62, UCS, 132, 3)
    check("ą" * 61 + "🏳️‍🌈" + "ą" * 63, UCS, 130, 2)


def test_ten_and_eleven_parts():
    check("a" * 1530, GSM, 1530, 10)
    check("a" * 1531, GSM, 1531, 11)


def test_ucs2_multipart_boundaries():
    check("ą" * 70, UCS, 70, 1)
    check("ą" * 71, UCS, 71, 2)
    check("ą" * 134, UCS, 134, 2)
    check("ą" * 135, UCS, 135, 3)


def test_seven_octet_header_leaves_152_septets_and_66_units():
    assert part_capacity(GSM, 7) == 152 and part_capacity(UCS, 7) == 66
    assert count_segments("a" * 306, udh_octets=7).segments == 3
    assert count_segments("a" * 304, udh_octets=7).segments == 2


def test_crlf_is_two_graphemes_and_two_septets():
    assert list(graphemes("a\r\nb")) == ["a", "\r", "\n", "b"]
    check("\r\n" * 80, GSM, 160, 1)


def test_grapheme_clusters():
    assert list(graphemes("e\u0301x")) == ["e\u0301", "x"]
    assert list(graphemes("🇹🇿🇰🇪🇺")) == ["🇹🇿", "🇰🇪", "🇺"]
    assert list(graphemes("👍🏽!")) == ["👍🏽", "!"]
    assert list(graphemes("👨‍👩‍👧a")) == ["👨‍👩‍👧", "a"]


def test_thai_and_lao_sara_am_stays_with_its_consonant():
    # U+0E33 and U+0EB3 are SpacingMark in UAX #29: no break after the consonant.
    assert list(graphemes("\u0e01\u0e33")) == ["\u0e01\u0e33"]  # Thai KO KAI + SARA AM
    assert list(graphemes("\u0e17\u0eb3x")) == ["\u0e17\u0eb3", "x"]  # Lao THO + SARA AM
    assert list(graphemes("\u0e19\u0e49\u0e33")) == ["\u0e19\u0e49\u0e33"]  # น้ำ water


def test_sara_am_cluster_never_straddles_parts():
    # 66 units, then a 2-unit Thai cluster that cannot share part one's last unit:
    # three parts (a splitter that cut the cluster packed it into two, a segment short).
    check("ą" * 66 + "กำ" + "ą" * 66, UCS, 134, 3)
    check("ą" * 66 + "ທຳ" + "ą" * 66, UCS, 134, 3)
    check("ą" * 65 + "กำ" + "ą" * 67, UCS, 134, 2)


def test_indic_conjunct_and_hangul_jamo_are_one_cluster_each():
    assert list(graphemes("\u0915\u094d\u0937")) == ["\u0915\u094d\u0937"]  # क्ष
    assert list(graphemes("\u1100\u1161\u11a8")) == ["\u1100\u1161\u11a8"]  # L V T


@given(st.text(max_size=200))
def test_clusters_cover_the_text_and_are_uax29_apart_from_crlf(text):
    clusters = list(graphemes(text))
    assert "".join(clusters) == text
    assert all(clusters)
    standard = regex.findall(r"\X", text)
    # Joining each split CR LF back gives the standard's clusters exactly.
    joined: list[str] = []
    for cluster in clusters:
        if cluster == "\n" and joined and joined[-1] == "\r":
            joined[-1] = "\r\n"
        else:
            joined.append(cluster)
    assert joined == standard


@given(st.text(max_size=400))
def test_units_are_utf16_code_units_for_ucs2_messages(text):
    result = count_segments(text)
    if result.encoding is UCS:
        assert result.units == len(text.encode("utf-16-le")) // 2
    else:
        assert result.units == len(text) + sum(char in "^{}\\[~]|€\f" for char in text)


@given(st.text(alphabet="ab€ą😜{", max_size=300), st.sampled_from("a€ą😜"))
def test_appending_never_lowers_the_count(text, extra):
    before, after = count_segments(text), count_segments(text + extra)
    if before.encoding is after.encoding:
        assert after.segments >= before.segments


@given(st.text(alphabet="a€", max_size=1200))
def test_segments_bound_by_units(text):
    result = count_segments(text)
    assert result.segments >= -(-result.units // 160)
    if result.units > 160:
        # Each seam wastes at most one septet (a pushed-over escape pair).
        assert result.segments <= -(-result.units // 152)


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=200))
def test_gsm_units_are_the_septets_of_every_character(text):
    """The one-part shortcut counts as the per-character sizes do (ESC pairs: 2)."""
    counted = count_segments(text)
    assert counted.encoding is SmsEncoding.GSM7
    assert counted.units == sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    assert (counted.segments == 1) == (counted.units <= 160)


def _packed_by_encoding_each_cluster(text: str) -> int:
    """The plain reading: each cluster's UTF-16 units, packed 67 a part, never split."""
    parts, free = 1, 67
    for cluster in graphemes(text):
        size = len(cluster.encode("utf-16-le")) // 2
        if size <= free:
            free -= size
        elif size <= 67:
            parts, free = parts + 1, 67 - size
        else:
            whole, rest = divmod(size, 67)
            parts += whole + (1 if rest else 0)
            free = 67 - rest if rest else 0
    return parts


_UCS_PIECES = ["ą", "é", "😜", "🇹🇿", "👨‍👩‍👧", "สวัสดี", "ທຳ", "नमस्ते", "e\u0301", "a", " ", "\r\n"]


@example(["😜"] * 40)  # 80 units: 2 parts of 33 emoji, not 1 of 80 characters
@example(["é"] * 70 + ["👨‍👩‍👧"])
@given(
    st.lists(
        st.sampled_from(_UCS_PIECES) | st.characters(exclude_categories=("Cs",)),
        min_size=20,
        max_size=120,
    )
)
def test_ucs2_shortcuts_pack_as_encoding_each_cluster_does(pieces):
    """The shortcuts (units from the whole text; a cluster's length when nothing is past
    the BMP; 1 or 2 for a single character) give the parts the plain reading gives."""
    text = "".join(pieces) + "ą"  # never GSM-7
    counted = count_segments(text)
    assert counted.encoding is UCS
    if counted.units > 70:
        assert counted.segments == _packed_by_encoding_each_cluster(text)
    else:
        assert counted.segments == 1


@pytest.mark.parametrize("text", ["hello \ud800", "\udfff" * 80, "ą" * 80 + "\ud83d"])
def test_a_lone_surrogate_raises_as_intake_expects(text):
    """Intake refuses the record with a sentence when counting raises (usage.submissions)."""
    with pytest.raises(UnicodeEncodeError):
        count_segments(text)
