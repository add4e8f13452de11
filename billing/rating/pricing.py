"""What the rater works out once per plan, FX rate, zone and band, rather than per record.

A `Context` belongs to one (plan, FX) pair and is kept on the plan (plans never change,
so it is safe to share). It holds `View`s: for timed usage one per (service, zone,
category) and time band, for counted usage one per (service, zone, category[, market]).
A view knows the rate, the bundles that could cover the usage, the fixed results of the
free cases, and memoises the rated fields of each billed quantity it has priced, for
records no bundle touches. Those fields depend on nothing else, so a memoised result is
the very result the arithmetic would give; the memo is bounded per context.
"""

from __future__ import annotations

import weakref
from decimal import Decimal
from typing import TypeAlias

from billing.core.money import Currency
from billing.rating.fixedpoint import round_fraction
from billing.rating.plans import ANY, DurationRate, RatePlan, Service, UnitRate
from billing.rating.records import FxRate, Piece
from billing.rating.timebands import BandSchedule

# The rated fields after the record id, in `RatedUsage` order: service, zone, band,
# currency, amount_minor, raw_numerator, raw_denominator, billed_units, bundle_units,
# pieces, bundle_draws, rate_unit_s, note, fx_rate.
Tail: TypeAlias = tuple[
    Service,
    str,
    str,
    Currency,
    int,
    int,
    int,
    int,
    int,
    tuple[Piece, ...],
    tuple[tuple[str, int], ...],
    int,
    str,
    Decimal | None,
]

# Memoised tails in the whole process, over every context: one is some 520 bytes, so
# this bounds the memo near 50 MB however many plans are held. When it is spent, every
# memo is emptied and fills again with what traffic uses now (results never change:
# a memoised tail is the one the arithmetic gives).
MEMO_BUDGET = 100_000
_memo_left = [MEMO_BUDGET]
_contexts: weakref.WeakSet[Context] = weakref.WeakSet()


class View:
    """Pricing of one (service, zone, category[, market], band): see the module doc."""

    __slots__ = (
        "_ctx",
        "band",
        "banded",
        "bands",
        "by_band",
        "category",
        "covered",
        "free_service",
        "free_type",
        "names",
        "no_charge",
        "no_charge_s",
        "rate",
        "service",
        "tails",
        "unanswered",
        "unit",
        "zone",
    )

    def __init__(self, ctx: Context, service: Service, zone: str, category: str) -> None:
        self._ctx = ctx
        self.service = service
        self.zone = zone
        self.category = category
        self.band = ANY
        self.banded = False
        self.bands: dict[str, View] = {}
        self.by_band: dict[str, DurationRate] = {}
        self.names = ctx.covering(service, zone, category)
        self.rate: DurationRate | None = None
        self.unit: UnitRate | None = None
        self.no_charge_s = 0
        self.tails: dict[int, Tail] = {}  # by billed quantity, for usage no bundle covers
        # By billable seconds, for calls the first covering bundle holds whole.
        self.covered: dict[int, Tail] = {}
        self.unanswered: Tail | None = None
        self.no_charge: Tail | None = None
        self.free_type: Tail | None = None
        self.free_service: Tail | None = None  # a service message sent before they cost

    def priced_by(self, rate: DurationRate | None, band: str) -> View:
        """Set the timed rate this view prices with (None: the plan has no rate)."""
        self.band = band
        self.rate = rate
        if rate is not None:
            self.no_charge_s = rate.no_charge_s
            unit_s = rate.rate_unit_s
            self.unanswered = self._ctx.tail(self, 0, unit_s, 0, 0, (), (), "unanswered")
            self.no_charge = self._ctx.tail(self, 0, unit_s, 0, 0, (), (), "no_charge")
        return self

    def at_band(self, band: str) -> View:
        """The view of a zone priced by band, for one band."""
        view = self.bands.get(band)
        if view is None:
            view = View(self._ctx, self.service, self.zone, self.category)
            view.priced_by(self.by_band.get(band) or self.by_band.get(ANY), band)
            self.bands[band] = view
        return view


class Context:
    """A plan's pricing under one FX rate (or none): the views, built as records need them."""

    __slots__ = (
        "__weakref__",
        "currency",
        "fx_denominator",
        "fx_numerator",
        "fx_rate",
        "plan",
        "rounding",
        "schedule",
        "step",
        "views",
        "whatsapp_free_types",
    )

    def __init__(self, plan: RatePlan, fx: FxRate | None) -> None:
        if fx is not None and fx.source is not plan.currency:
            raise ValueError(f"FX rate converts from {fx.source}, plan is in {plan.currency}")
        self.plan = plan
        self.schedule: BandSchedule = plan.schedule
        self.step = plan.rounding_step
        self.rounding = plan.rounding
        self.whatsapp_free_types = plan.whatsapp_free_types
        self.currency = plan.currency if fx is None else fx.target
        self.fx_numerator = 1 if fx is None else fx.numerator
        self.fx_denominator = 1 if fx is None else fx.denominator
        self.fx_rate = None if fx is None else fx.rate
        # service -> category -> zone (or (zone, market) for WhatsApp) -> view
        self.views: dict[Service, dict[str, dict[str | tuple[str, str], View]]] = {}
        _contexts.add(self)

    def covering(self, service: Service, zone: str, category: str) -> tuple[str, ...]:
        """Names of the plan's bundles covering this usage, in plan order."""
        return tuple(b.name for b in self.plan.bundles if b.covers(service, zone, category))

    def duration_view(self, service: Service, zone: str, category: str) -> View:
        """The view of timed usage in a zone: priced alike in every band, or by band."""
        view = View(self, service, zone, category)
        durations = self.plan.durations
        by_band = durations.get((service, zone)) or durations.get((service, ANY))
        if by_band and len(by_band) == 1 and ANY in by_band:
            view.priced_by(by_band[ANY], ANY)
        elif by_band:
            view.banded = True
            view.by_band = dict(by_band)
        self._keep(service, category, zone, view)
        return view

    def counted_view(self, service: Service, zone: str, category: str, market: str) -> View:
        """The view of counted usage (messages, rental) in a zone, and market for WhatsApp."""
        view = View(self, service, zone, category)
        plan = self.plan
        if service is Service.WHATSAPP:
            view.unit = plan.whatsapp_rate(category, market)
            view.free_type = self.tail(view, 0, 1, 0, 0, (), (), "free_type")
            if category == "service":
                note = "service_free_until_2026_10"
                view.free_service = self.tail(view, 0, 1, 0, 0, (), (), note)
            self._keep(service, category, (zone, market), view)
        else:
            view.unit = plan.unit_rate(service, zone)
            self._keep(service, category, zone, view)
        return view

    def _keep(
        self, service: Service, category: str, key: str | tuple[str, str], view: View
    ) -> None:
        self.views.setdefault(service, {}).setdefault(category, {})[key] = view

    def tail(
        self,
        view: View,
        numerator: int,
        denominator: int,
        billed: int,
        free: int,
        pieces: tuple[Piece, ...],
        draws: tuple[tuple[str, int], ...],
        note: str,
    ) -> Tail:
        """The rated fields of a raw amount `numerator / denominator` micro-minor."""
        rate_unit_s = denominator
        if self.fx_rate is not None:
            numerator *= self.fx_numerator
            denominator *= self.fx_denominator
        amount = round_fraction(numerator, denominator, self.step, self.rounding)
        return (
            view.service,
            view.zone,
            view.band,
            self.currency,
            amount,
            numerator,
            denominator,
            billed,
            free,
            pieces,
            draws,
            rate_unit_s,
            note,
            self.fx_rate,
        )

    def remember(self, memo: dict[int, Tail], quantity: int, tail: Tail) -> Tail:
        """Keep `tail` in a view's `memo` as the price of `quantity` (see MEMO_BUDGET)."""
        if _memo_left[0] <= 0:
            forget_memos()
        _memo_left[0] -= 1
        memo[quantity] = tail
        return tail

    def forget(self) -> None:
        """Empty the memos of this context's views."""
        for by_category in self.views.values():
            for by_key in by_category.values():
                for view in by_key.values():
                    for band_view in (view, *view.bands.values()):
                        band_view.tails.clear()
                        band_view.covered.clear()


def forget_memos() -> None:
    """Empty every context's memos and restore the budget."""
    for ctx in list(_contexts):
        ctx.forget()
    _memo_left[0] = MEMO_BUDGET


def context(plan: RatePlan, fx: FxRate | None) -> Context:
    """The plan's pricing context under `fx`, made on first use and kept on the plan."""
    # Equal rates written differently (0.5, 0.50) are stored as written: keep them apart.
    key = None if fx is None else (fx, str(fx.rate))
    found = plan.rating_memo.get(key)
    if found is None:
        found = Context(plan, fx)
        plan.rating_memo[key] = found
    return found
