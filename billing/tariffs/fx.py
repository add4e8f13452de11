"""Daily FX rates: stored per day with their source, looked up for rating.

A rate is `rate` units of the quote currency per unit of the base (TZS per USD). Rating
converts a plan's prices into the tenant's currency at the rate of the usage's day; a
day without a published rate (a weekend, a holiday) uses the latest earlier rate, up to
`LOOKBACK_DAYS` back, and the rate used is kept on the rated row.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.core.db import insert_for
from billing.core.errors import InvalidInput, MalipoError
from billing.core.money import Currency
from billing.rating.records import FxRate
from billing.rating.timebands import DAR_ES_SALAAM
from billing.tariffs.models import FxRateRow, TariffGeneration

LOOKBACK_DAYS = 7
_INVERSE_PLACES = Decimal("1e-12")
_DAR = ZoneInfo(DAR_ES_SALAAM)


class NoFxRate(MalipoError):
    status = 409
    title = "No FX rate"
    type_slug = "no-fx-rate"


@dataclass(frozen=True, slots=True)
class FxQuote:
    """The rate used for a day: which day's rate it was, and who published it."""

    rate: FxRate
    day: date
    source: str


class FxBook:
    """Every stored rate, indexed by currency pair and day (a few hundred rows a year)."""

    __slots__ = ("_days", "_rows")

    def __init__(self, rows: list[tuple[date, str, str, Decimal, str]]) -> None:
        by_pair: dict[tuple[str, str], list[tuple[date, Decimal, str]]] = {}
        for day, base, quote, rate, source in rows:
            by_pair.setdefault((base, quote), []).append((day, rate, source))
        for entries in by_pair.values():
            entries.sort()
        self._rows = by_pair
        self._days = {pair: [entry[0] for entry in entries] for pair, entries in by_pair.items()}

    def quote(self, source: Currency, target: Currency, day: date) -> FxQuote | None:
        """`target` per `source` on `day`; from the inverse pair when only that is stored."""
        found = self._latest((source, target), day)
        if found is not None:
            return FxQuote(FxRate(source, target, found[1]), found[0], found[2])
        inverse = self._latest((target, source), day)
        if inverse is None:
            return None
        rate = (Decimal(1) / inverse[1]).quantize(_INVERSE_PLACES)
        return FxQuote(FxRate(source, target, rate), inverse[0], f"{inverse[2]} (inverse)")

    def _latest(self, pair: tuple[str, str], day: date) -> tuple[date, Decimal, str] | None:
        days = self._days.get(pair)
        if not days:
            return None
        index = bisect.bisect_right(days, day) - 1
        if index < 0:
            return None
        entry = self._rows[pair][index]
        return entry if (day - entry[0]).days <= LOOKBACK_DAYS else None


def load_book(session: Session) -> FxBook:
    rows = session.execute(
        select(
            FxRateRow.day,
            FxRateRow.base_currency,
            FxRateRow.quote_currency,
            FxRateRow.rate,
            FxRateRow.source,
        )
    ).all()
    return FxBook([tuple(row) for row in rows])  # type: ignore[misc]


def record_rate(
    session: Session, day: date, base: Currency, quote: Currency, rate: Decimal, source: str
) -> None:
    """Store (or correct) the rate for a day; rated rows keep the rate they were rated at."""
    if base == quote:
        raise InvalidInput.on("quote_currency", "an FX rate converts between two currencies")
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise InvalidInput.on("rate", "an FX rate is a positive decimal")
    values = {
        "day": day,
        "base_currency": str(base),
        "quote_currency": str(quote),
        "rate": rate,
        "source": source,
    }
    statement = insert_for(session, FxRateRow.__table__).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "base_currency", "quote_currency"],
        set_={"rate": rate, "source": source},
    )
    session.execute(statement)
    bump_generation(session, "fx")


def bump_generation(session: Session, name: str) -> None:
    session.execute(
        update(TariffGeneration)
        .where(TariffGeneration.name == name)
        .values(generation=TariffGeneration.generation + 1)
    )


def day_of(moment: datetime) -> date:
    """The FX day of an aware instant: its calendar day in Dar es Salaam, as BoT publishes."""
    return moment.astimezone(_DAR).date()
