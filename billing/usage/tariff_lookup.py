"""The tenant's tariff for each record of a batch, with as few loader calls as possible."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from billing.core.errors import MalipoError
from billing.tariffs.cache import StoredPlanInvalid
from billing.tariffs.service import Standing, read_standings, tariff_for, tariff_from


class Tariffs:
    """The tenant's tariff for each record, with as few loader calls as possible.

    Plan versions and assignments only ever start later (a version in force is the latest
    started; an assignment likewise), so when a tenant has the same assignment and plan
    version at the first and the last instant of a batch, that tariff held throughout:
    two lookups price the whole batch. Otherwise each day is looked up on its own.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._whole: dict[str, Any] = {}
        self._by_day: dict[tuple[str, date], Any] = {}

    def prepare(self, rows: Sequence[Row]) -> None:
        spans: dict[str, list[datetime]] = {}
        for row in rows:
            if row.tenant_id:
                span = spans.setdefault(row.tenant_id, [row.occurred_at, row.occurred_at])
                if row.occurred_at < span[0]:
                    span[0] = row.occurred_at
                elif row.occurred_at > span[1]:
                    span[1] = row.occurred_at
        asked = [(tenant_id, at) for tenant_id, span in spans.items() for at in span]
        standings = iter(read_standings(self.session, asked))  # one query for them all
        for tenant_id, (first, last) in spans.items():
            early = self._tariff(tenant_id, first, next(standings))
            late = self._tariff(tenant_id, last, next(standings))
            if early is not None and late is not None and _same(early, late):
                self._whole[tenant_id] = late

    def whole(self, tenant_id: str) -> Any:
        """The tenant's tariff over the whole batch, if one held throughout (else None)."""
        return self._whole.get(tenant_id)

    def at(self, tenant_id: str, at: datetime) -> Any:
        whole = self._whole.get(tenant_id)
        if whole is not None:
            return whole
        key = (tenant_id, at.date())
        if key not in self._by_day:
            self._by_day[key] = self._lookup(tenant_id, at)
        return self._by_day[key]

    def _lookup(self, tenant_id: str, at: datetime) -> Any:
        try:
            return tariff_for(self.session, tenant_id, at)
        except StoredPlanInvalid:
            raise  # a plan it cannot read is no missing plan: the tenant's usage is parked
        except MalipoError:
            return None

    def _tariff(self, tenant_id: str, at: datetime, standing: Standing | None) -> Any:
        """`_lookup` from a standing read already (None: the tenant is unknown)."""
        if standing is None:
            return None
        try:
            return tariff_from(self.session, standing, at)
        except StoredPlanInvalid:
            raise
        except MalipoError:
            return None


def _same(one: Any, other: Any) -> bool:
    return (one.assignment_id, one.plan_id, one.plan_version) == (
        other.assignment_id,
        other.plan_id,
        other.plan_version,
    )
