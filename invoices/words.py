"""Amounts in words, English and Swahili, for the "amount in words" line of an invoice.

Written here because num2words has no Swahili and no TZS (see reference/invoicing.md).
Swahili puts the unit before its count ("elfu mbili", "shilingi mia tano") and joins
only the last part of a number with "na" ("elfu mbili mia tatu arobaini na tano").
Numbers of 100,000 and more use "laki" below a million ("laki mbili na elfu hamsini").
Have finance staff review the wording before it goes on printed invoices.
"""

from __future__ import annotations

from billing.core.money import Currency

_LIMIT = 10**15  # below a thousand trillion is plenty for an invoice

# fmt: off
_EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))

# fmt: off
_SW_ONES = ("sifuri", "moja", "mbili", "tatu", "nne", "tano", "sita", "saba", "nane", "tisa")
_SW_TENS = (
    "", "kumi", "ishirini", "thelathini", "arobaini", "hamsini", "sitini", "sabini",
    "themanini", "tisini",
)
# fmt: on
_SW_SCALES = ((10**12, "trilioni"), (10**9, "bilioni"), (10**6, "milioni"))

_CURRENCY_NAMES = {
    ("en", Currency.TZS): ("Tanzanian shilling", "cent"),
    ("en", Currency.USD): ("US dollar", "cent"),
    ("sw", Currency.TZS): ("shilingi", "senti"),
    ("sw", Currency.USD): ("dola za Kimarekani", "senti"),
}


def amount_in_words(minor: int, currency: Currency, lang: str = "en") -> str:
    """E.g. 234550 TZS -> "two thousand three hundred and forty-five Tanzanian shillings
    and fifty cents"; in Swahili "shilingi elfu mbili mia tatu arobaini na tano na senti
    hamsini". Negative amounts (credit notes) get "minus" / "hasi"."""
    currency = Currency(currency)
    whole, cents = divmod(abs(minor), 10**currency.exponent)
    major_name, minor_name = _CURRENCY_NAMES[(lang, currency)]
    if lang == "en":
        parts = [_en_count(whole, major_name)] if whole or not cents else []
        parts += [_en_count(cents, minor_name)] if cents else []
        text, sign = " and ".join(parts), "minus "
    else:
        parts = [f"{major_name} {swahili(whole)}"] if whole or not cents else []
        parts += [f"{minor_name} {swahili(cents)}"] if cents else []
        text, sign = " na ".join(parts), "hasi "
    return sign + text if minor < 0 else text


def _en_count(n: int, noun: str) -> str:
    return f"{english(n)} {noun}" + ("" if n == 1 else "s")


def english(n: int) -> str:
    """British English cardinal: "one hundred and five", "two million and one"."""
    _check(n)
    if n == 0:
        return "zero"
    parts: list[str] = []
    for scale, name in _EN_SCALES:
        count, n = divmod(n, scale)
        if count:
            parts.append(f"{_en_below_1000(count)} {name}")
    if n:
        below = _en_below_1000(n)
        parts.append(f"and {below}" if parts and n < 100 else below)
    return " ".join(parts)


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    head = f"{_EN_ONES[hundreds]} hundred" if hundreds else ""
    if not rest:
        return head
    tail = _EN_ONES[rest] if rest < 20 else _en_tens(rest)
    return f"{head} and {tail}" if head else tail


def _en_tens(n: int) -> str:
    tens, ones = divmod(n, 10)
    return f"{_EN_TENS[tens]}-{_EN_ONES[ones]}" if ones else _EN_TENS[tens]


def swahili(n: int) -> str:
    """Swahili cardinal: "elfu ishirini na tano", "milioni moja na laki mbili"."""
    _check(n)
    if n == 0:
        return _SW_ONES[0]
    return _join_sw(_sw_parts(n))


def _sw_parts(n: int) -> list[str]:
    """The number's parts, largest first; each part is a unit word and its count."""
    parts: list[str] = []
    for scale, name in _SW_SCALES:
        count, n = divmod(n, scale)
        if count:
            parts.append(f"{name} {swahili(count)}")
    lakhs, n = divmod(n, 100_000)
    if lakhs:
        parts.append(f"laki {_SW_ONES[lakhs]}")
    thousands, n = divmod(n, 1000)
    if thousands:
        parts.append(f"elfu {swahili(thousands)}")
    hundreds, n = divmod(n, 100)
    if hundreds:
        parts.append(f"mia {_SW_ONES[hundreds]}")
    tens, ones = divmod(n, 10)
    if tens:
        parts.append(_SW_TENS[tens])
    if ones:
        parts.append(_SW_ONES[ones])
    return parts


def _join_sw(parts: list[str]) -> str:
    # "na" links only the last part: 345 is "mia tatu arobaini na tano".
    if len(parts) == 1:
        return parts[0]
    return " ".join(parts[:-1]) + " na " + parts[-1]


def _check(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < _LIMIT:
        raise ValueError(f"can only spell whole numbers from 0 to {_LIMIT - 1}")
