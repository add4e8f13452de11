import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import Currency
from invoices.words import amount_in_words, english, swahili

ENGLISH = {
    0: "zero",
    7: "seven",
    13: "thirteen",
    20: "twenty",
    42: "forty-two",
    99: "ninety-nine",
    100: "one hundred",
    105: "one hundred and five",
    110: "one hundred and ten",
    999: "nine hundred and ninety-nine",
    1000: "one thousand",
    1001: "one thousand and one",
    1010: "one thousand and ten",
    1100: "one thousand one hundred",
    2345: "two thousand three hundred and forty-five",
    20005: "twenty thousand and five",
    100000: "one hundred thousand",
    118000: "one hundred and eighteen thousand",
    1000000: "one million",
    1000001: "one million and one",
    1234567: ("one million two hundred and thirty-four thousand five hundred and sixty-seven"),
    10**9: "one billion",
    10**12 + 1: "one trillion and one",
}

SWAHILI = {
    0: "sifuri",
    1: "moja",
    2: "mbili",
    5: "tano",
    9: "tisa",
    10: "kumi",
    11: "kumi na moja",
    19: "kumi na tisa",
    20: "ishirini",
    21: "ishirini na moja",
    30: "thelathini",
    45: "arobaini na tano",
    50: "hamsini",
    67: "sitini na saba",
    78: "sabini na nane",
    83: "themanini na tatu",
    99: "tisini na tisa",
    100: "mia moja",
    101: "mia moja na moja",
    120: "mia moja na ishirini",
    345: "mia tatu arobaini na tano",
    500: "mia tano",
    999: "mia tisa tisini na tisa",
    1000: "elfu moja",
    1005: "elfu moja na tano",
    1100: "elfu moja na mia moja",
    2300: "elfu mbili na mia tatu",
    2345: "elfu mbili mia tatu arobaini na tano",
    10000: "elfu kumi",
    11000: "elfu kumi na moja",
    25000: "elfu ishirini na tano",
    50500: "elfu hamsini na mia tano",
    99999: "elfu tisini na tisa mia tisa tisini na tisa",
    100000: "laki moja",
    118000: "laki moja na elfu kumi na nane",
    250000: "laki mbili na elfu hamsini",
    300001: "laki tatu na moja",
    999999: "laki tisa elfu tisini na tisa mia tisa tisini na tisa",
    1000000: "milioni moja",
    1200000: "milioni moja na laki mbili",
    2500000: "milioni mbili na laki tano",
    12500000: "milioni kumi na mbili na laki tano",
    100000000: "milioni mia moja",
    250000000: "milioni mia mbili na hamsini",
    10**9: "bilioni moja",
    3 * 10**9 + 5: "bilioni tatu na tano",
    10**12: "trilioni moja",
}


@pytest.mark.parametrize(("n", "words"), ENGLISH.items())
def test_english(n, words):
    assert english(n) == words


@pytest.mark.parametrize(("n", "words"), SWAHILI.items())
def test_swahili(n, words):
    assert swahili(n) == words


@pytest.mark.parametrize(
    ("minor", "currency", "lang", "words"),
    [
        (234550, Currency.TZS, "en",
         "two thousand three hundred and forty-five Tanzanian shillings and fifty cents"),
        (234550, Currency.TZS, "sw",
         "shilingi elfu mbili mia tatu arobaini na tano na senti hamsini"),
        (16800000, Currency.TZS, "sw", "shilingi laki moja na elfu sitini na nane"),
        (16800000, Currency.TZS, "en", "one hundred and sixty-eight thousand Tanzanian shillings"),
        (1, Currency.USD, "en", "one cent"),
        (100, Currency.TZS, "en", "one Tanzanian shilling"),
        (50, Currency.USD, "sw", "senti hamsini"),
        (0, Currency.TZS, "sw", "shilingi sifuri"),
        (0, Currency.USD, "en", "zero US dollars"),
        (10001, Currency.USD, "en", "one hundred US dollars and one cent"),
        (-50000, Currency.TZS, "sw", "hasi shilingi mia tano"),
        (-50000, Currency.TZS, "en", "minus five hundred Tanzanian shillings"),
    ],
)  # fmt: skip
def test_amounts(minor, currency, lang, words):
    assert amount_in_words(minor, currency, lang) == words


@pytest.mark.parametrize("bad", [-1, 10**15, 1.5, True])
def test_out_of_range(bad):
    with pytest.raises(ValueError):
        english(bad)
    with pytest.raises(ValueError):
        swahili(bad)


_UNITS = """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen"""
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_EN_VALUES = {w: i for i, w in enumerate(_UNITS.split())}
_EN_VALUES |= {w: 10 * (i + 2) for i, w in enumerate(_TENS.split())}
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def _parse_english(text: str) -> int:
    total = current = 0
    for word in text.replace("-", " ").split():
        if word == "and":
            continue
        if word == "hundred":
            current *= 100
        elif word in _EN_SCALES:
            total += current * _EN_SCALES[word]
            current = 0
        else:
            current += _EN_VALUES[word]
    return total + current


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_english_reads_back(n):
    assert _parse_english(english(n)) == n


_SW_WORDS = set(
    [
        "sifuri",
        "moja",
        "mbili",
        "tatu",
        "nne",
        "tano",
        "sita",
        "saba",
        "nane",
        "tisa",
        "kumi",
        "ishirini",
        "thelathini",
        "arobaini",
        "hamsini",
        "sitini",
        "sabini",
        "themanini",
        "tisini",
        "mia",
        "elfu",
        "laki",
        "milioni",
        "bilioni",
        "trilioni",
        "na",
    ]
)


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_swahili_uses_only_known_words_and_never_dangles(n):
    words = swahili(n).split()
    assert set(words) <= _SW_WORDS
    assert words[0] != "na" and words[-1] != "na"
    assert all(not (a == b == "na") for a, b in itertools.pairwise(words))
    # every unit word is followed by its count; only a million-scale count can be "mia ..."
    order = ["mia", "elfu", "laki", "milioni", "bilioni", "trilioni"]
    for here, after in itertools.pairwise(words):
        if here in order:
            assert after != "na"
            assert after not in order or (after == "mia" and order.index(here) >= 3)


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_swahili_below_a_thousand_matches_the_tail(n):
    # the last three digits are spelt the same way wherever they appear
    low = n % 1000
    if low and n >= 1000 and low >= 100:
        assert swahili(n).endswith(swahili(low))
