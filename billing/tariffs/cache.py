"""The per-process tariff cache: plans by (plan id, version), tenant plans by assignment,
the destination table and the FX book by load generation.

Kept per database (by URL), so a process that talks to two databases (tests, the demo)
never serves one's rows for the other. Everything cached is immutable once written, or
identified by a generation the loaders bump, which is why no entry ever needs expiring.
"""

from __future__ import annotations

import gc
import threading
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.core.errors import Conflict
from billing.rating.destinations import Destination, DestinationTable
from billing.rating.plans import RatePlan
from billing.tariffs import fx
from billing.tariffs.codec import build_plan
from billing.tariffs.models import DestinationPrefix, PlanAssignment, RatePlanVersion
from billing.tariffs.models import RatePlan as RatePlanRow
from billing.tariffs.plan_schemas import PlanDefinitionSchema, RateEntriesSchema


class TariffCache:
    """Per process and database: plans by (plan id, version), tenant plans by assignment,
    the destination table and FX book by generation."""

    PLAN_LIMIT = 2_000  # distinct plan versions held
    TENANT_LIMIT = 100_000  # tenants' plans held (most share their plan version's object)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._definitions: dict[tuple[str, int], tuple[str, dict, RatePlan]] = {}
        self._overrides: dict[str, dict] = {}
        self._tenant_plans: dict[tuple[str, int, str], RatePlan] = {}
        self._destinations: tuple[int, DestinationTable] | None = None
        self._fx: tuple[int, fx.FxBook] | None = None

    def plan(self, session: Session, plan_id: str, version: int, assignment_id: str) -> RatePlan:
        key = (plan_id, version, assignment_id)
        found = self._tenant_plans.get(key)
        if found is not None:
            return found
        code, definition, base = self._definition(session, plan_id, version)
        overrides = self._overrides.get(assignment_id)
        if overrides is None:
            stored = session.get(PlanAssignment, assignment_id)
            overrides = (
                RateEntriesSchema().load(stored.overrides) if stored and stored.overrides else {}
            )
        plan = build_plan(code, definition, overrides) if overrides else base
        with self._lock:
            if len(self._tenant_plans) >= self.TENANT_LIMIT:
                self._tenant_plans.clear()
                self._overrides.clear()
            self._overrides[assignment_id] = overrides
            self._tenant_plans[key] = plan
        return plan

    def _definition(
        self, session: Session, plan_id: str, version: int
    ) -> tuple[str, dict, RatePlan]:
        found = self._definitions.get((plan_id, version))
        if found is None:
            row = session.execute(
                select(RatePlanRow.code, RatePlanVersion.definition)
                .join(RatePlanVersion, RatePlanVersion.plan_id == RatePlanRow.id)
                .where(RatePlanRow.id == plan_id, RatePlanVersion.version == version)
            ).one()
            definition = _stored_definition(row.code, version, row.definition)
            found = (row.code, definition, build_plan(row.code, definition))
            with self._lock:
                if len(self._definitions) >= self.PLAN_LIMIT:
                    self._definitions.clear()
                self._definitions[(plan_id, version)] = found
        return found

    def destinations(self, session: Session, generation: int) -> DestinationTable:
        held = self._destinations
        if held is not None and held[0] == generation:
            return held[1]
        with self._lock:
            held = self._destinations
            if held is None or held[0] != generation:
                held = self._destinations = (generation, load_destinations(session))
                # A table of 100,000 prefixes is some 400,000 long-lived objects, acyclic
                # (freed by reference counting when replaced). Moving them out of the
                # collector's generations keeps full collections, and so authorisation's
                # p99, from walking them all (it halves the p99 in bench/authorize.py).
                gc.freeze()
        return held[1]

    def fx_book(self, session: Session, generation: int) -> fx.FxBook:
        held = self._fx
        if held is not None and held[0] == generation:
            return held[1]
        with self._lock:
            held = self._fx
            if held is None or held[0] != generation:
                held = self._fx = (generation, fx.load_book(session))
        return held[1]


def load_destinations(session: Session, at: datetime | None = None) -> DestinationTable:
    """Every stored prefix row (or only those not yet ended at `at`) as a lookup table."""
    table = DestinationPrefix.__table__
    query = select(
        table.c.prefix,
        table.c.zone,
        table.c.country,
        table.c.operator,
        table.c.market,
        table.c.valid_from,
        table.c.valid_to,
    )
    if at is not None:
        query = query.where(or_(table.c.valid_to.is_(None), table.c.valid_to > at))
    rows = session.execute(query).all()
    return DestinationTable(Destination(*row) for row in rows)


_CACHES: dict[str, TariffCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(session: Session) -> TariffCache:
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    cache = _CACHES.get(url)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.setdefault(url, TariffCache())
    return cache


def cached_plan_keys(session: Session) -> frozenset[tuple[str, int]]:
    """The (plan id, version) pairs this process holds: what tests check invalidation by."""
    return frozenset(cache_for(session)._definitions)


class StoredPlanInvalid(Conflict):
    """A stored plan version that today's bounds refuse (saved before they existed, or
    past the API): its tenants' usage is parked with this sentence, never priced, and
    authorising against it is a 409 naming the plan."""

    title = "The tenant's rate plan cannot be used"


def _stored_definition(code: str, version: int, stored: dict) -> dict:
    try:
        return PlanDefinitionSchema().load(stored)
    except ValidationError as error:
        paths = sorted(_paths(error.messages))
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        raise StoredPlanInvalid(
            f"plan {code} v{version} is out of today's bounds at {paths[0][:40]}{more}:"
            " correct the plan"
        ) from None


def _paths(messages: object, prefix: str = "") -> list[str]:
    if not isinstance(messages, dict):
        return [prefix or "definition"]
    found: list[str] = []
    for key, value in messages.items():
        found += _paths(value, f"{prefix}.{key}" if prefix else str(key))
    return found
