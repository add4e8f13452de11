"""Bundle balances in the database: what the pure rater draws from, kept per period.

`BundleBook` serves one rating transaction. The caller names every (tenant, bundle,
period) its rows may touch; the book creates the missing balance rows, locks them all
in one sorted order (so two jobs never deadlock on them and never both draw the same
units), hands the rater a `BundleState` per record, keeps the draws in memory and writes
each changed balance once, with a relative UPDATE checked against the grant. The locks
are taken before any wallet's (rating settles wallets after pricing), in every path.

A draw is kept on the rated row as `{bundle, period, period_start, units}`, so a
dispute shows where its free units came from and re-rating can give them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.db import is_postgresql
from billing.rating.bundles import EMPTY, BundleState, period_of
from billing.rating.plans import Bundle, RatePlan
from billing.usage.models import BundleBalance
from billing.usage.tariff_lookup import Tariffs

_balances = BundleBalance.__table__
# (tenant_id, bundle name, period kind, period start): one balance row.
Key = tuple[str, str, str, date]


@dataclass(slots=True)
class _Held:
    id: int
    granted: int
    used: int  # as read, plus what this transaction drew since
    drawn: int = 0  # net change to write


@dataclass(frozen=True, slots=True)
class _Need:
    service: str
    period_end: date
    units: int


class BundleBook:
    """The locked bundle balances of one transaction's records."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._needs: dict[Key, _Need] = {}
        self._held: dict[Key, _Held] = {}
        # Per (tenant, plan, quarter hour): each bundle's name and balance key. Local days
        # start on a quarter hour in every zone, and a batch's records bunch in time.
        self._keys: dict[tuple[str, int, int], tuple[RatePlan, dict[str, Key]]] = {}
        # A state is shared by records until a draw changes a balance.
        self._states: dict[tuple[Key, ...], tuple[int, BundleState]] = {}
        self._draws = 0

    @classmethod
    def for_rows(
        cls, session: Session, rows: Sequence[Row], tenants: Mapping[str, Any], tariffs: Tariffs
    ) -> BundleBook:
        """A book holding, locked, every balance these rows of known tenants may draw on."""
        book = cls(session)
        # A tenant with one tariff over the rows, and no bundle in it: none of its rows.
        plain = {t for t in tenants if (whole := tariffs.whole(t)) and not whole.plan.bundles}
        for row in rows:
            if row.tenant_id in tenants and row.tenant_id not in plain:
                tariff = tariffs.at(row.tenant_id, row.occurred_at)
                if tariff is not None and tariff.plan.bundles:
                    book.need(row.tenant_id, tariff.plan, row.occurred_at)
        book.lock()
        return book

    def need(self, tenant_id: str, plan: RatePlan, at: datetime) -> None:
        """The balances a record of this tenant at `at` may draw on, under `plan`."""
        keys = self._keys_of(tenant_id, plan, at)
        for bundle in plan.bundles:
            key = keys[bundle.name]
            need = self._needs.get(key)
            if need is None or need.units != bundle.units or not need.service:
                end = period_of(bundle.period, key[3])[1]
                self._needs[key] = _Need(bundle.service.value, end, bundle.units)

    def _keys_of(self, tenant_id: str, plan: RatePlan, at: datetime) -> dict[str, Key]:
        memo = (tenant_id, id(plan), int(at.timestamp()) // 900)
        found = self._keys.get(memo)
        if found is None or found[0] is not plan:
            keys = {bundle.name: _bundle_key(tenant_id, bundle, at) for bundle in plan.bundles}
            found = self._keys[memo] = (plan, keys)  # the plan kept, so its id stays its own
        return found[1]

    def need_stored(self, tenant_id: str, draws: Iterable[Mapping[str, Any]]) -> None:
        """The balances stored draws came from (to give them back), granted as they are."""
        for stored in draws:
            key = _key_of(tenant_id, stored)
            if key not in self._needs:
                start = key[3]
                self._needs[key] = _Need("", period_of(key[2], start)[1], 0)

    def lock(self) -> None:
        """Create the missing rows, then lock every needed row, in key order."""
        if not self._needs:
            return
        now = utcnow()
        missing = [
            {
                "tenant_id": key[0], "bundle": key[1], "period": key[2], "period_start": key[3],
                "period_end": need.period_end, "service": need.service,
                "units_granted": need.units, "units_used": 0, "updated_at": now,
            }
            for key, need in self._needs.items()
            if key not in self._held and need.service
        ]  # fmt: skip
        if missing:
            insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
            self.session.execute(insert(_balances).on_conflict_do_nothing(), missing)
        keys = sorted(set(self._needs) - set(self._held))
        tenants = sorted({key[0] for key in keys})
        query = (
            select(_balances)
            .where(_balances.c.tenant_id.in_(tenants))
            .order_by(_balances.c.tenant_id, _balances.c.bundle, _balances.c.period,
                      _balances.c.period_start)
        )  # fmt: skip
        starts = sorted({key[3] for key in keys})
        query = query.where(_balances.c.period_start.in_(starts))
        if is_postgresql(self.session):
            query = query.with_for_update()
        wanted = set(keys)
        for row in self.session.execute(query):
            key = (row.tenant_id, row.bundle, row.period, row.period_start)
            if key in wanted:
                self._held[key] = _Held(row.id, row.units_granted, row.units_used)
        self._regrant()

    def _regrant(self) -> None:
        """A grant follows the plan in force (a corrected plan can grant more or less),
        never below what was drawn already."""
        changes = []
        for key, need in self._needs.items():
            held = self._held.get(key)
            if held is None or not need.service:
                continue
            granted = max(need.units, held.used)
            if granted != held.granted:
                held.granted = granted
                changes.append({"b_id": held.id, "b_granted": granted})
        if changes:
            self.session.execute(
                update(_balances)
                .where(_balances.c.id == bindparam("b_id"))
                .values(units_granted=bindparam("b_granted")),
                changes,
                execution_options={"synchronize_session": False},
            )

    def state(self, tenant_id: str, plan: RatePlan, at: datetime) -> BundleState:
        """What the plan's bundles have left for a record at `at` (locked first)."""
        if not plan.bundles:
            return EMPTY
        keys = self._keys_of(tenant_id, plan, at)
        shape = tuple(keys.values())
        cached = self._states.get(shape)
        if cached is not None and cached[0] == self._draws:
            return cached[1]
        remaining = {}
        for name, key in keys.items():
            held = self._held[key]
            remaining[name] = max(held.granted - held.used, 0)
        state = BundleState(remaining)
        self._states[shape] = (self._draws, state)
        return state

    def take(
        self, tenant_id: str, plan: RatePlan, at: datetime, draws: Sequence[tuple[str, int]]
    ) -> list[dict[str, Any]]:
        """Record the rater's draws for a record at `at`; their stored form."""
        keys = self._keys_of(tenant_id, plan, at)
        self._draws += 1
        stored = []
        for name, units in draws:
            key = keys[name]
            held = self._held[key]
            held.used += units
            held.drawn += units
            stored.append(_stored(key, units))
        return stored

    def give_back(self, tenant_id: str, draws: Iterable[Mapping[str, Any]]) -> None:
        """Return a record's stored draws to their balances (it is being re-rated)."""
        self._draws += 1
        for stored in draws:
            held = self._held[_key_of(tenant_id, stored)]
            held.used -= int(stored["units"])
            held.drawn -= int(stored["units"])

    def flush(self) -> None:
        """Write each changed balance once; the check refuses any over-draw."""
        changes = [
            {"b_id": held.id, "b_drawn": held.drawn} for held in self._held.values() if held.drawn
        ]
        if not changes:
            return
        self.session.execute(
            update(_balances)
            .where(_balances.c.id == bindparam("b_id"))
            .values(units_used=_balances.c.units_used + bindparam("b_drawn"), updated_at=utcnow()),
            changes,
            execution_options={"synchronize_session": False},
        )
        for held in self._held.values():
            held.drawn = 0


def _bundle_key(tenant_id: str, bundle: Bundle, at: datetime) -> Key:
    return (tenant_id, bundle.name, bundle.period, period_of(bundle.period, at)[0])


def _key_of(tenant_id: str, stored: Mapping[str, Any]) -> Key:
    return (
        tenant_id,
        stored["bundle"],
        stored["period"],
        date.fromisoformat(stored["period_start"]),
    )


def _stored(key: Key, units: int) -> dict[str, Any]:
    return {"bundle": key[1], "period": key[2], "period_start": key[3].isoformat(), "units": units}


def stored_draws(breakdown: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The draws kept on a rated row (older rows kept none)."""
    draws = (breakdown or {}).get("bundle_draws") or []
    return [draw for draw in draws if isinstance(draw, Mapping)]
