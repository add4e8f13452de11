"""Rate plans and their assignment to tenants: one transaction per use case.

A plan is known by its `code`. Posting a definition for a new code creates the plan at
version 1; posting a changed definition for an existing code adds the next version
(versions are never edited, so rated usage can always name the version it was priced
by); posting the same definition again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.clock import utcnow
from billing.core.errors import InvalidInput, NotFound
from billing.core.ids import new_id
from billing.tariffs.codec import build_plan
from billing.tariffs.models import PlanAssignment, RatePlan, RatePlanVersion
from billing.tariffs.plan_schemas import PlanDefinitionSchema, RateEntriesSchema
from billing.tariffs.standings import forget_standings
from billing.tenants.service import get_tenant

_DEFINITION = PlanDefinitionSchema()
_ENTRIES = RateEntriesSchema()


@dataclass(frozen=True)
class SavedPlan:
    plan: RatePlan
    version: RatePlanVersion
    created: bool  # False: the definition was the same as the latest version's


def save_plan(
    session: Session,
    code: str,
    name: str,
    definition: dict,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    created_by: str | None = None,
) -> SavedPlan:
    """Create the plan, or add a version when the definition (or validity) changed."""
    build_plan(code, definition)  # the rating core's own checks, before anything is stored
    stored = _DEFINITION.dump(definition)
    digest = _digest(stored, valid_from, valid_to)
    plan = session.execute(
        select(RatePlan).where(RatePlan.code == code).with_for_update()
    ).scalar_one_or_none()
    if plan is None:
        plan = RatePlan(id=new_id("rpl"), code=code, name=name, latest_version=0)
        session.add(plan)
        session.flush()
    else:
        latest = version_of(session, plan.id, plan.latest_version)
        if latest.definition_sha256 == digest:
            plan.name = name  # a new name alone is not a new price: no new version
            return SavedPlan(plan, latest, created=False)
    start = valid_from or utcnow()
    if valid_to is not None and valid_to <= start:
        raise InvalidInput.on("valid_to", "must be after valid_from")
    plan.name = name
    plan.latest_version += 1
    version = RatePlanVersion(
        plan_id=plan.id,
        version=plan.latest_version,
        currency=str(definition["currency"]),
        valid_from=start,
        valid_to=valid_to,
        definition=stored,
        definition_sha256=digest,
        created_by=created_by,
    )
    session.add(version)
    session.flush()
    forget_standings()
    return SavedPlan(plan, version, created=True)


def _digest(stored: dict, valid_from: datetime | None, valid_to: datetime | None) -> str:
    # valid_from None means "now": a re-post without dates is the same request.
    body = {"definition": stored, "valid_from": valid_from, "valid_to": valid_to}
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def get_plan(session: Session, plan_id: str) -> RatePlan:
    plan = session.get(RatePlan, plan_id)
    if plan is None:
        raise NotFound(f"rate plan {plan_id} not found")
    return plan


def version_of(session: Session, plan_id: str, version: int) -> RatePlanVersion:
    found = session.execute(
        select(RatePlanVersion).where(
            RatePlanVersion.plan_id == plan_id, RatePlanVersion.version == version
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"rate plan {plan_id} has no version {version}")
    return found


def versions_of(session: Session, plan_id: str) -> list[RatePlanVersion]:
    return list(
        session.execute(
            select(RatePlanVersion)
            .where(RatePlanVersion.plan_id == plan_id)
            .order_by(RatePlanVersion.version)
        ).scalars()
    )


def assign_plan(
    session: Session,
    tenant_id: str,
    plan_id: str,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    overrides: dict | None = None,
    credit_limit_minor: int | None = None,
    created_by: str | None = None,
) -> PlanAssignment:
    """Put a tenant on a plan from `valid_from` (default now), with optional overrides.

    The assignment with the latest start at or before an instant is the one in force,
    so a new assignment supersedes the previous one from its start without editing it.
    """
    tenant = get_tenant(session, tenant_id)
    plan = get_plan(session, plan_id)
    latest = version_of(session, plan.id, plan.latest_version)
    overrides = overrides or {}
    if overrides:
        # The overridden plan must still be a valid plan in the plan's currency.
        build_plan(plan.code, _DEFINITION.load(latest.definition), overrides)
    start = valid_from or utcnow()
    if valid_to is not None and valid_to <= start:
        raise InvalidInput.on("valid_to", "must be after valid_from")
    assignment = PlanAssignment(
        id=new_id("asg"),
        tenant_id=tenant.id,
        plan_id=plan.id,
        valid_from=start,
        valid_to=valid_to,
        overrides=_ENTRIES.dump(overrides) if overrides else {},
        credit_limit_minor=credit_limit_minor,
        created_by=created_by,
    )
    session.add(assignment)
    session.flush()
    forget_standings()
    return assignment


def assignments_of(session: Session, tenant_id: str) -> list[PlanAssignment]:
    return list(
        session.execute(
            select(PlanAssignment)
            .where(PlanAssignment.tenant_id == tenant_id)
            .order_by(PlanAssignment.valid_from.desc(), PlanAssignment.created_at.desc())
        ).scalars()
    )


def tenant_has_used(session: Session, tenant_id: str, plan_id: str) -> bool:
    """Whether the plan is (or was) the tenant's: what lets a tenant key read it."""
    return (
        session.execute(
            select(PlanAssignment.id).where(
                PlanAssignment.tenant_id == tenant_id, PlanAssignment.plan_id == plan_id
            )
        ).first()
        is not None
    )
