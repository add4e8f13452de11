"""English and Swahili for every page: the catalogs, the language chosen, and amounts and
dates written the way en-TZ and sw-TZ write them (times in East Africa Time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from babel import numbers
from flask import Flask, request
from flask import session as cookie
from flask_babel import Babel, format_date, format_datetime, get_locale
from markupsafe import Markup

from billing.core.money import Currency

LANGUAGES = {"en": "en_TZ", "sw": "sw_TZ"}
TIMEZONE = "Africa/Dar_es_Salaam"


def language() -> str:
    """The page's language: the one chosen in this browser, else English."""
    chosen = cookie.get("lang") if request else None
    return chosen if chosen in LANGUAGES else "en"


def _locale() -> str:
    return LANGUAGES[language()]


def money(minor: int | None, currency: str | None) -> str:
    """`TSh12,500.50` (en-TZ), `TSh 12,500.50` (sw-TZ): exact, from integer minor units."""
    if minor is None or currency is None:
        return "—"
    major = Decimal(minor).scaleb(-Currency(currency).exponent)
    return numbers.format_currency(major, currency, locale=str(get_locale()))


def number(value: int | Decimal) -> str:
    return numbers.format_decimal(value, locale=str(get_locale()))


def day(value: date | datetime | None, form: str = "medium") -> str:
    if value is None:
        return "—"
    return format_date(value, form)


def last_day(end: date | None) -> str:
    """An exclusive period end shown as the period's last day."""
    return "—" if end is None else day(end - timedelta(days=1))


def moment(value: datetime | None, form: str = "medium") -> str:
    """A UTC instant shown in Dar es Salaam time (`short` in tables)."""
    return "—" if value is None else format_datetime(value, form)


def register(app: Flask, translations: str) -> None:
    app.config.update(
        BABEL_DEFAULT_LOCALE="en_TZ",
        BABEL_DEFAULT_TIMEZONE=TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=translations,
    )
    Babel(app, locale_selector=_locale)
    app.jinja_env.filters.update(
        money=money, number=number, day=day, moment=moment, last_day=last_day
    )
    app.jinja_env.globals.update(language=language, Markup=Markup)
