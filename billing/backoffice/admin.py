"""Admin: tenants (create, suspend, reinstate), rate plans (versions side by side) and
the audit trail search; through the API's schemas and service functions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from billing.audit.service import AuditFilter, list_events, record
from billing.auth.access import principal, requires
from billing.auth.models import Role
from billing.backoffice.blueprint import bp
from billing.core.errors import MalipoError, NotFound
from billing.pages.forms import load
from billing.tariffs import rate_plans
from billing.tariffs.destination_store import load_destination_file
from billing.tariffs.models import RatePlan
from billing.tenants import service as tenants
from billing.tenants.models import Tenant, TenantStatus
from billing.tenants.schemas import TenantCreateSchema
from billing.web.session import request_session

ADMIN = (Role.ADMIN,)
FORM_FIELDS = (
    "name",
    "email",
    "msisdn",
    "tin",
    "vrn",
    "billing_mode",
    "currency",
    "street",
    "city",
    "language",
)


@bp.route("/tenants", methods=["GET", "POST"], endpoint="tenants")
@requires(*ADMIN)
def tenants_page():
    session = request_session()
    errors: dict[str, list[str]] = {}
    created = None
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    if request.method == "POST":
        given = {k: v for k, v in form.items() if v}
        data, errors = load(TenantCreateSchema(), given)
        if not errors:
            created = tenants.create_tenant(session, tenants.NewTenant(**data))
            record(
                session,
                actor=principal().actor,
                action="tenant.created",
                subject_type="tenant",
                subject_id=created.id,
                tenant_id=created.id,
            )
    query = select(Tenant).order_by(Tenant.created_at.desc()).limit(200)
    if request.args.get("q"):
        query = query.where(Tenant.name.ilike(f"%{request.args['q'][:100]}%"))
    return render_template(
        "office/tenants.html",
        tenants=list(session.execute(query).scalars()),
        errors=errors,
        created=created,
        form=form if errors else {},
        args=request.args,
    ), (422 if errors else 200)


@bp.post("/tenants/<tenant_id>/status")
@requires(*ADMIN)
def tenant_status(tenant_id: str):
    """Suspend (usage is refused by /v1/authorize; portal links stop) or reinstate."""
    session = request_session()
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    wanted = request.form.get("status", "")
    if wanted not in ("active", "suspended"):
        raise NotFound("no such status")
    before = tenant.status.value
    tenant.status = TenantStatus(wanted)
    if before != wanted:
        record(
            session,
            actor=principal().actor,
            action=f"tenant.{'suspended' if wanted == 'suspended' else 'reinstated'}",
            subject_type="tenant",
            subject_id=tenant.id,
            tenant_id=tenant.id,
            detail={"before": before, "after": wanted},
        )
    return redirect(url_for("office.tenants"), code=303)


@bp.get("/rate-plans", endpoint="rate_plans")
@requires(*ADMIN)
def rate_plans_page():
    plans = request_session().execute(select(RatePlan).order_by(RatePlan.code)).scalars()
    return render_template("office/rate_plans.html", plans=list(plans))


@bp.get("/rate-plans/<plan_id>")
@requires(*ADMIN)
def rate_plan(plan_id: str):
    session = request_session()
    plan = rate_plans.get_plan(session, plan_id)
    versions = rate_plans.versions_of(session, plan_id)
    shown = versions[-2:]  # the latest two, side by side
    return render_template("office/rate_plan.html", plan=plan, versions=versions, shown=shown)


@bp.route("/destinations", methods=["GET", "POST"], endpoint="destinations")
@requires(*ADMIN)
def destinations_page():
    """Import a destination prefix CSV, as POST /v1/destinations/import: all rows or none,
    every bad line named."""
    summary, errors = None, {}
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = {"file": ["choose a CSV file"]}
        else:
            try:
                text = io.TextIOWrapper(upload.stream, encoding="utf-8", newline="")
                summary = load_destination_file(request_session(), text)
            except UnicodeDecodeError:
                errors = {"file": ["the file is not UTF-8 text"]}
            except csv.Error as error:
                errors = {"file": [f"not a CSV this service can read: {error}"]}
            except MalipoError as refused:
                errors = refused.errors or {"file": [refused.detail]}
            else:
                record(request_session(), actor=principal().actor, action="destinations.imported",
                       subject_type="destinations", subject_id=upload.filename[:100],
                       detail=vars(summary))  # fmt: skip
    return render_template("office/destinations.html", summary=summary, errors=errors), (
        422 if errors else 200
    )


def _instant(name: str) -> datetime | None:
    try:
        day = datetime.strptime(request.args.get(name, ""), "%Y-%m-%d")  # noqa: DTZ007
    except ValueError:
        return None
    return datetime.combine(day.date(), time(), UTC)


@bp.get("/audit", endpoint="audit")
@requires(*ADMIN)
def audit_page():
    def given(name: str) -> str | None:
        return (request.args.get(name, "").strip()[:100]) or None

    where = AuditFilter(
        tenant_id=given("tenant_id"),
        actor=given("actor"),
        action=given("action"),
        subject_type=given("subject_type"),
        subject_id=given("subject_id"),
        since=_instant("since"),
        until=_instant("until"),
    )
    events = list_events(request_session(), where, before_id=None, limit=200)
    return render_template("office/audit.html", events=events, args=request.args)
