"""/v1/rate-plans, /v1/tenants/{id}/rate-plan, /v1/destinations, /v1/fx-rates, /v1/authorize."""

from __future__ import annotations

import csv
import io

from flask import request
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import ANYONE, STAFF, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.clock import utcnow
from billing.core.errors import InvalidInput, NotFound
from billing.rating.plans import Service
from billing.tariffs import fx, rate_plans
from billing.tariffs.authorisation import Hold, authorise, e164_digits
from billing.tariffs.destination_store import load_destination_file
from billing.tariffs.models import RatePlanVersion
from billing.tariffs.plan_schemas import PlanDefinitionSchema, RatePlanCreateSchema
from billing.tariffs.schemas import (
    AssignmentCreateSchema,
    AssignmentSchema,
    AuthorizationSchema,
    AuthorizeSchema,
    DestinationLoadSchema,
    DestinationSchema,
    FxRateCreateSchema,
    FxRateSchema,
    LookupArgs,
    RatePlanArgs,
    RatePlanSchema,
    TenantPlanSchema,
)
from billing.tariffs.service import current_destinations, read_standing
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("tariffs", __name__, url_prefix="/v1", description="Tariffs and authorisation")
DESTINATION_FILE_CAP = 64 * 1024 * 1024  # a 100,000-prefix file is about 5 MB
_DEFINITION = PlanDefinitionSchema()
_PLAN_FIELDS = ("code", "name", "valid_from", "valid_to")


@finds("plan_id")
def _find_plan(session: Session, plan_id: str, who: Principal) -> object:
    """A tenant key finds only plans it is or was on; staff find any."""
    if not who.is_staff and not rate_plans.tenant_has_used(session, who.tenant_id, plan_id):
        raise NotFound(f"rate plan {plan_id} not found")
    return rate_plans.get_plan(session, plan_id)


_CSV_BODY = {
    "required": True,
    "description": "prefix,zone,name,country,operator,market,valid_from,valid_to",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
            }
        },
    },
}


@blp.route("/rate-plans")
class RatePlans(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(RatePlanCreateSchema)
    @blp.response(201, RatePlanSchema)
    @blp.alt_response(200, schema=RatePlanSchema, description="unchanged: the latest version")
    def post(self, data: dict):
        """Create a plan, or a new version of the plan with this `code` when it changed.

        201 with the new version; 200 with the latest when nothing changed.
        """
        meta = {name: data.pop(name, None) for name in _PLAN_FIELDS}
        saved = rate_plans.save_plan(
            request_session(),
            meta["code"],
            meta["name"],
            data,
            valid_from=meta["valid_from"],
            valid_to=meta["valid_to"],
            created_by=principal().staff_user_id,
        )
        body = _plan_body(saved.plan, saved.version)
        return body if saved.created else (body, 200)


@blp.route("/rate-plans/<plan_id>")
class RatePlanById(MethodView):
    @requires(*ANYONE)
    @blp.arguments(RatePlanArgs, location="query")
    @blp.response(200, RatePlanSchema)
    def get(self, args: dict, plan_id: str):
        """A plan at its latest version (or `?version=`); a tenant sees only its own plans."""
        session = request_session()
        caller = principal()
        if not caller.is_staff and not rate_plans.tenant_has_used(
            session, caller.tenant_id, plan_id
        ):
            raise NotFound(f"rate plan {plan_id} not found")
        plan = rate_plans.get_plan(session, plan_id)
        version = rate_plans.version_of(session, plan.id, args["version"] or plan.latest_version)
        return _plan_body(plan, version)


def _plan_body(plan: rate_plans.RatePlan, version: RatePlanVersion) -> dict:
    session = request_session()
    return {
        **_DEFINITION.load(version.definition),
        "id": plan.id,
        "code": plan.code,
        "name": plan.name,
        "version": version.version,
        "latest_version": plan.latest_version,
        "valid_from": version.valid_from,
        "valid_to": version.valid_to,
        "created_at": version.created_at,
        "versions": rate_plans.versions_of(session, plan.id),
    }


@blp.route("/tenants/<tenant_id>/rate-plan")
class TenantPlan(MethodView):
    @idempotent
    @requires(Role.ADMIN)
    @blp.arguments(AssignmentCreateSchema)
    @blp.response(201, AssignmentSchema)
    def post(self, data: dict, tenant_id: str):
        """Put the tenant on a plan from `valid_from` (default now), with rate overrides
        and, for postpaid tenants, a credit limit."""
        return rate_plans.assign_plan(
            request_session(),
            tenant_id,
            data["plan_id"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            overrides=data["overrides"],
            credit_limit_minor=data["credit_limit"],
            created_by=principal().staff_user_id,
        )

    @requires(*ANYONE)
    @blp.response(200, TenantPlanSchema)
    def get(self, tenant_id: str):
        """The assignment in force now, the plan version it prices by, and the history."""
        if not principal().can_see_tenant(tenant_id):
            raise NotFound(f"tenant {tenant_id} not found")
        session = request_session()
        standing = read_standing(session, tenant_id, utcnow())
        history = rate_plans.assignments_of(session, tenant_id)
        current = next((a for a in history if a.id == standing.assignment_id), None)
        return {
            "tenant_id": tenant_id,
            "current": current,
            "plan_version": standing.version if current else None,
            "assignments": history,
        }


@blp.route("/destinations/import")
class DestinationImport(MethodView):
    @requires(Role.ADMIN)
    @blp.doc(requestBody=_CSV_BODY)
    @blp.response(200, DestinationLoadSchema)
    def post(self):
        """Load a destination CSV (the body as text/csv, or a multipart `file`): all rows
        or none; every bad line is reported by number."""
        request.max_content_length = DESTINATION_FILE_CAP
        upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        stream = upload.stream if upload is not None else request.stream
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        try:
            return load_destination_file(request_session(), text)
        except UnicodeDecodeError as error:
            raise InvalidInput.on("file", "the file is not UTF-8 text") from error
        except csv.Error as error:  # a field over the csv module's 128 KiB limit
            raise InvalidInput.on("file", f"not a CSV this service can read: {error}") from error


@blp.route("/destinations/lookup")
class DestinationLookup(MethodView):
    @requires(*STAFF)
    @blp.arguments(LookupArgs, location="query")
    @blp.response(200, DestinationSchema)
    def get(self, args: dict):
        """The destination row a number rates by at `at` (default now): longest prefix."""
        number = e164_digits(args["number"])
        at = args["at"] or utcnow()
        found = current_destinations(request_session()).match(number, at)
        if found is None:
            raise NotFound(f"no destination for {number} at {at.isoformat()}")
        return {"number": number, "destination": found}


@blp.route("/fx-rates")
class FxRates(MethodView):
    @idempotent
    @requires(*STAFF)
    @blp.arguments(FxRateCreateSchema)
    @blp.response(201, FxRateSchema)
    def post(self, data: dict):
        """Record (or correct) the rate of a day: `rate` quote units per base unit."""
        fx.record_rate(
            request_session(),
            data["day"],
            data["base_currency"],
            data["quote_currency"],
            data["rate"],
            data["source"],
        )
        return data


@blp.route("/authorize")
class Authorize(MethodView):
    @requires(*STAFF)
    @blp.arguments(AuthorizeSchema)
    @blp.response(200, AuthorizationSchema)
    def post(self, data: dict):
        """May the tenant place this call or send these messages, and how much of it?"""
        hold = None
        if data["reserve"]:
            hold = Hold(data["session_id"], data["seconds"], data["messages"])
        return authorise(
            request_session(),
            data["tenant_id"],
            Service(data["service"]),
            data["destination"],
            segments=data["segments"],
            category=data["category"],
            hold=hold,
        )
