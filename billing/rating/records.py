"""What goes into the rater and what comes out: plain, immutable records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from billing.core.money import Currency
from billing.rating.fixedpoint import micro_to_decimal
from billing.rating.plans import Service


class UsageRecord(NamedTuple):
    """One billable event in canonical form.

    `started_at` is the aware instant the usage began: the answer time of a call, the
    submit or delivery time of a message, the start of a rental month. It picks the
    time band and the destination row in force. A NamedTuple, as `RatedUsage`: equally
    immutable, and a frozen dataclass's field-by-field `__init__` cost the importer 5%.
    """

    source_id: str
    service: Service
    started_at: datetime
    destination: str = ""  # E.164 digits without '+', for routed services
    billable_s: int = 0  # billsec for timed services
    answered: bool = True
    units: int = 1  # SMS segments, WhatsApp messages, rental months
    zone: str = ""  # set for unrouted services (AI minutes, recording, rental)
    category: str = ""  # WhatsApp template category
    pricing_type: str = "regular"  # WhatsApp webhook pricing.type
    market: str = ""  # WhatsApp market, when the sender already knows it


@dataclass(frozen=True, slots=True)
class FxRate:
    """`rate` units of `target` per unit of `source`, locked for the day and stored per row."""

    source: Currency
    target: Currency
    rate: Decimal
    numerator: int = field(init=False, repr=False, compare=False)
    denominator: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or self.rate <= 0:
            raise ValueError("an FX rate is a positive Decimal")
        numerator, denominator = self.rate.as_integer_ratio()
        object.__setattr__(self, "numerator", numerator)
        object.__setattr__(self, "denominator", denominator)


class Piece(NamedTuple):
    """One rate group's share of a timed record, or the single line of a counted one."""

    start_s: int  # elapsed billable second the group starts at (0 for counted units)
    increment_s: int  # block size in seconds (1 for counted units)
    increments: int  # blocks billed in this group
    billed_units: int  # increments x increment_s (or units)
    charged_units: int  # of those, not covered by a bundle
    rate_micro: int  # micro-minor per rate unit, in the plan currency


class RatedUsage(NamedTuple):
    """A priced record with the breakdown a dispute can show line by line.

    `amount_minor` is rounded once from the exact raw amount
    `raw_numerator / raw_denominator` micro-minor (already converted by `fx_rate`).
    A NamedTuple rather than a frozen dataclass: equally immutable, and about eight times
    cheaper to build, which matters at a million records a batch.
    """

    source_id: str
    service: Service
    zone: str
    band: str
    currency: Currency
    amount_minor: int
    raw_numerator: int
    raw_denominator: int
    billed_units: int
    bundle_units: int
    pieces: tuple[Piece, ...] = ()
    bundle_draws: tuple[tuple[str, int], ...] = ()
    rate_unit_s: int = 1
    note: str = ""  # the rule that decided the charge: unanswered, no_charge, minimum_charge…
    fx_rate: Decimal | None = None

    @property
    def charged_units(self) -> int:
        return self.billed_units - self.bundle_units

    @property
    def raw_amount(self) -> Decimal:
        """The unrounded charge in major units, kept beside the rounded one."""
        return micro_to_decimal(self.raw_numerator, self.raw_denominator, self.currency)


@dataclass(frozen=True, slots=True)
class Unrated:
    """A record the plan cannot price; kept with its reason, never dropped."""

    source_id: str
    reason: str
