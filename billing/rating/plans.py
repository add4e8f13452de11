"""Rate plans as plain frozen dataclasses.

Prices are written as `Decimal` major units in the plan's currency and converted once,
at construction, to integer micro-minor (see `fixedpoint`), so rating never touches a
Decimal. Durations follow CGRateS rate groups: a group applies from `start_s` of
elapsed (billable) time, bills in blocks of `increment_s` and charges `rate` per
`rate_unit_s`. "30/6" is two groups: {0 s, 30 s blocks}, {30 s, 6 s blocks}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from billing.core.money import Currency
from billing.rating.fixedpoint import EXPONENT, Rounding, to_micro
from billing.rating.timebands import BandSchedule

ANY = "*"  # zone or band key that matches whatever is not listed
_ZERO = Decimal(0)


class Service(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    AI_AGENT_MINUTES = "ai_agent_minutes"
    RECORDING_MINUTES = "recording_minutes"
    NUMBER_RENTAL = "number_rental"


DURATION_SERVICES = frozenset({Service.VOICE, Service.AI_AGENT_MINUTES, Service.RECORDING_MINUTES})
# Services priced by destination number; the others by a zone named on the record.
ROUTED_SERVICES = frozenset({Service.VOICE, Service.SMS, Service.WHATSAPP})


@dataclass(frozen=True, slots=True)
class RateGroup:
    start_s: int
    rate: Decimal  # per rate unit of the enclosing DurationRate
    increment_s: int
    rate_micro: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.increment_s <= 0:
            raise ValueError("a rate group starts at >= 0 s and bills blocks of > 0 s")
        if self.rate < 0:
            raise ValueError("rates are never negative")
        object.__setattr__(self, "rate_micro", to_micro(self.rate))


@dataclass(frozen=True, slots=True)
class DurationRate:
    """Price of timed usage in one zone and band."""

    groups: tuple[RateGroup, ...]
    rate_unit_s: int = 60
    connect_fee: Decimal = _ZERO
    no_charge_s: int = 0  # calls this short or shorter are free
    minimum_charge: Decimal = _ZERO
    connect_micro: int = field(init=False, repr=False, compare=False)
    minimum_micro: int = field(init=False, repr=False, compare=False)
    # The rater's view, worked out once: connect fee and minimum charge already times
    # `rate_unit_s` (the numerator they add), and each group as a plain tuple
    # (start_s, increment_s, rate_micro, end_s or None for the open-ended last group).
    connect_numerator: int = field(init=False, repr=False, compare=False)
    minimum_numerator: int = field(init=False, repr=False, compare=False)
    spans: tuple[tuple[int, int, int, int | None], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _check_groups(self.groups)
        if self.rate_unit_s <= 0 or self.no_charge_s < 0:
            raise ValueError("rate unit must be positive and no-charge seconds not negative")
        connect, minimum = _price(self.connect_fee), _price(self.minimum_charge)
        object.__setattr__(self, "connect_micro", connect)
        object.__setattr__(self, "minimum_micro", minimum)
        object.__setattr__(self, "connect_numerator", connect * self.rate_unit_s)
        object.__setattr__(self, "minimum_numerator", minimum * self.rate_unit_s)
        ends = [following.start_s for following in self.groups[1:]] + [None]
        spans = tuple(
            (group.start_s, group.increment_s, group.rate_micro, end)
            for group, end in zip(self.groups, ends, strict=True)
        )
        object.__setattr__(self, "spans", spans)

    @classmethod
    def per_increment(
        cls, rate: Decimal, initial_s: int = 60, increment_s: int = 60, **options: object
    ) -> DurationRate:
        """The "initial/next" notation: e.g. 60/60, 30/6, 60/1, 1/1, one rate throughout."""
        groups = (RateGroup(0, rate, initial_s),)
        if increment_s != initial_s:
            groups += (RateGroup(initial_s, rate, increment_s),)
        return cls(groups, **options)  # type: ignore[arg-type]


def _check_groups(groups: tuple[RateGroup, ...]) -> None:
    if not groups or groups[0].start_s != 0:
        raise ValueError("the first rate group starts at 0 s")
    for group, following in pairwise(groups):
        span = following.start_s - group.start_s
        # A group must end on one of its own block edges, or blocks would overlap.
        if span <= 0 or span % group.increment_s:
            raise ValueError("rate groups must ascend and end on a whole increment")


def _price(amount: Decimal) -> int:
    if amount < 0:
        raise ValueError("prices are never negative")
    return to_micro(amount)


@dataclass(frozen=True, slots=True)
class UnitRate:
    """Price per counted unit: an SMS segment, a WhatsApp message, a number-month."""

    price: Decimal
    price_micro: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "price_micro", _price(self.price))


@dataclass(frozen=True, slots=True)
class Bundle:
    """Free units per period, drawn before the wallet, in the plan's bundle order.

    Units are those the service is billed in: seconds, segments, messages, months.
    `zones` (or `categories`) of None means every one. Resetting at each `period` is the
    caller's job.
    """

    name: str
    service: Service
    units: int
    zones: frozenset[str] | None = None
    categories: frozenset[str] | None = None  # WhatsApp: e.g. {"service"} for the free tier
    period: str = "month"

    def covers(self, service: Service, zone: str, category: str = "") -> bool:
        return (
            service is self.service
            and (self.zones is None or zone in self.zones)
            and (self.categories is None or category in self.categories)
        )


WHATSAPP_FREE_TYPES = frozenset({"free_customer_service", "free_entry_point"})
# Meta charges non-template (service) messages per message from 1 Oct 2026, at the
# utility rate of the market ("rates for service messages are the same as the rates for
# utility and authentication"); before, a regular service message was free.
WHATSAPP_SERVICE_CHARGED_FROM = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RatePlan:
    """Everything needed to price usage for one tenant at one time.

    `durations`: (service, zone) -> {band: DurationRate}; band "*" covers any band.
    `units`: (service, zone) -> UnitRate for SMS per segment and number rental per month.
    `whatsapp`: (category, market) -> UnitRate per delivered message.
    Zone "*" is the fallback for a service. `decimals` is how many decimals of the major
    unit the rounded charge keeps (2 = cents, 0 = whole shillings).
    """

    code: str
    currency: Currency
    durations: Mapping[tuple[Service, str], Mapping[str, DurationRate]] = field(
        default_factory=dict
    )
    units: Mapping[tuple[Service, str], UnitRate] = field(default_factory=dict)
    whatsapp: Mapping[tuple[str, str], UnitRate] = field(default_factory=dict)
    whatsapp_free_types: frozenset[str] = WHATSAPP_FREE_TYPES
    # A message charged, then reported failed, is refunded (rating.message_status).
    refund_failed_messages: bool = False
    bundles: tuple[Bundle, ...] = ()
    schedule: BandSchedule = field(default_factory=BandSchedule)
    rounding: Rounding = Rounding.HALF_UP
    decimals: int = 2
    # Minor units the rounded charge is a multiple of (1 = cent, 100 = whole TZS).
    rounding_step: int = field(init=False, repr=False, compare=False)
    rating_memo: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        currency = Currency(self.currency)
        if currency.exponent != EXPONENT:
            raise ValueError("rating supports currencies with two minor digits only")
        if not 0 <= self.decimals <= EXPONENT:
            raise ValueError("decimals must be between 0 and the currency exponent")
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "rounding_step", 10 ** (EXPONENT - self.decimals))
        # Read-only views so a shared plan cannot be changed under a running rater.
        object.__setattr__(self, "durations", MappingProxyType(dict(self.durations)))
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))
        object.__setattr__(self, "whatsapp", MappingProxyType(dict(self.whatsapp)))
        object.__setattr__(self, "bundles", tuple(self.bundles))
        # Filled by the rater as it meets each (service, zone): the rates to use and the
        # bundles that cover them. Safe to share: the plan never changes.
        object.__setattr__(self, "rating_memo", {})

    def duration_rate(self, service: Service, zone: str, band: str) -> DurationRate | None:
        by_band = self.durations.get((service, zone)) or self.durations.get((service, ANY))
        if by_band is None:
            return None
        return by_band.get(band) or by_band.get(ANY)

    def unit_rate(self, service: Service, zone: str) -> UnitRate | None:
        return self.units.get((service, zone)) or self.units.get((service, ANY))

    def whatsapp_rate(self, category: str, market: str) -> UnitRate | None:
        """The plan's price of a delivered message; a plan that prices no service
        message charges it as a utility one, as Meta does."""
        rates = self.whatsapp
        found = rates.get((category, market)) or rates.get((category, ANY))
        if found is None and category == "service":
            return rates.get(("utility", market)) or rates.get(("utility", ANY))
        return found
