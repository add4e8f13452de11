"""A tenant's standing for authorisation (billing mode, status, the plan version in force,
with its plan and destinations), kept per process for `STANDING_TTL_S`: a plan change or
reassignment reaches other processes within that time, this one at once
(`forget_standings`)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.tariffs.service import NoRatePlan, Standing, Tariff, read_standing, tariff_from

STANDING_TTL_S = 2.0

_standings: dict[tuple[str, str], tuple[float, Standing, Tariff | None, str]] = {}


def standing_of(
    session: Session, tenant_id: str, at: datetime | None
) -> tuple[Standing, Tariff | None, str]:
    """The tenant's standing and tariff; for "now", read at most every STANDING_TTL_S."""
    key = (_database_of(session), tenant_id)
    now = time.monotonic()
    if at is None:
        held = _standings.get(key)
        if held is not None and held[0] > now:
            return held[1], held[2], held[3]
    standing = read_standing(session, tenant_id, at or utcnow())
    tariff, refusal = None, ""
    if standing.restricted:
        refusal = "processing_restricted"
    elif not standing.active:
        refusal = "tenant_suspended"
    elif standing.overdue:
        refusal = "tenant_overdue"  # an invoice unpaid past dunning's grace period
    else:
        try:
            tariff = tariff_from(session, standing, at or utcnow())
        except NoRatePlan:
            refusal = "no_rate_plan"
    if at is None:
        if len(_standings) > 100_000:
            _standings.clear()
        _standings[key] = (now + STANDING_TTL_S, standing, tariff, refusal)
    return standing, tariff, refusal


def forget_standings() -> None:
    """Drop the cached standings: a plan or assignment changed in this process."""
    _standings.clear()


def _database_of(session: Session) -> str:
    return _url_of(session.get_bind().engine)


@lru_cache(maxsize=64)
def _url_of(engine: Engine) -> str:
    """Rendering the URL was a fiftieth of an answer's CPU; an engine's URL never changes."""
    return engine.url.render_as_string(hide_password=True)
