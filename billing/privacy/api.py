"""/v1 privacy routes: data exports (tenant admin, admin) and erasure requests (asked by
the tenant's admin, decided by an admin)."""

from __future__ import annotations

from flask import Response, send_file
from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.clock import utcnow
from billing.core.errors import NotFound
from billing.privacy import erasure, exports, restriction
from billing.privacy.models import ExportStatus
from billing.privacy.schemas import (
    ErasureCreateSchema,
    ErasureDecisionSchema,
    ErasureSchema,
    ExportSchema,
    RestrictionSchema,
)
from billing.runtime import current
from billing.tenants.schemas import TenantSchema
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("privacy", __name__, url_prefix="/v1", description="Privacy: export, erasure")


@finds("export_id")
def _find_export(session: Session, export_id: str, who: Principal) -> object:
    """Only the key that asked for an export finds it."""
    return exports.get_for_requester(session, export_id, who.key_id)


@finds("erasure_id")
def _find_erasure(session: Session, erasure_id: str, who: Principal) -> object:
    """A tenant key finds only its own tenant's requests; staff find any."""
    return erasure.get_request(session, erasure_id, who.tenant_id)


def _own_tenant(tenant_id: str) -> Principal:
    who = principal()
    if not who.can_see_tenant(tenant_id):
        raise NotFound(f"tenant {tenant_id} not found")
    return who


@blp.route("/tenants/<tenant_id>/exports")
class Exports(MethodView):
    @idempotent()
    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.response(202, ExportSchema)
    def post(self, tenant_id: str):
        """Export everything held about the tenant (JSON Lines, CSV, PDFs, a manifest of
        checksums); the archive is for the requesting key only, until `expires_at`."""
        who = _own_tenant(tenant_id)
        return exports.request_export(request_session(), tenant_id, who.key_id, who.actor)


@blp.route("/exports/<export_id>")
class ExportById(MethodView):
    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.response(200, ExportSchema)
    def get(self, export_id: str):
        """An export and, once ready, where to download it (the requesting key only)."""
        return exports.get_for_requester(request_session(), export_id, principal().key_id)


@blp.route("/exports/<export_id>/archive")
class ExportArchive(MethodView):
    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.response(200, content_type="application/zip")
    def get(self, export_id: str):
        """The archive (zip); 404 before it is ready and after it expired (then deleted)."""
        session = request_session()
        export = exports.get_for_requester(session, export_id, principal().key_id)
        settings = current().settings
        if export.status == ExportStatus.READY and export.expires_at <= utcnow():
            exports.expire(settings, export)
            session.commit()
        path = exports.archive_path(settings, export)
        if export.status != ExportStatus.READY or not path.is_file():
            raise NotFound(f"export {export_id} has no archive ({export.status.value})")
        response: Response = send_file(path, mimetype="application/zip", as_attachment=True,
                                       download_name=f"malipo-export-{export.id}.zip")  # fmt: skip
        return response


@blp.route("/tenants/<tenant_id>/erasure-requests")
class ErasureRequests(MethodView):
    @idempotent()
    @requires(Role.TENANT_ADMIN)
    @blp.arguments(ErasureCreateSchema)
    @blp.response(202, ErasureSchema)
    def post(self, data: dict, tenant_id: str):
        """Ask for the tenant's personal data to be erased; an admin approves it once the
        balance is settled. Tax records and the ledger are kept (see the report)."""
        who = _own_tenant(tenant_id)
        return erasure.request_erasure(request_session(), tenant_id, who.key_id, data["note"])


@blp.route("/erasure-requests/<erasure_id>")
class ErasureById(MethodView):
    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.response(200, ErasureSchema)
    def get(self, erasure_id: str):
        """An erasure request and, once completed, its report."""
        return erasure.get_request(request_session(), erasure_id, principal().tenant_id)


@blp.route("/erasure-requests/<erasure_id>/approve")
class ErasureApproval(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(ErasureDecisionSchema)
    @blp.response(202, ErasureSchema)
    def post(self, data: dict, erasure_id: str):
        """Approve: 409 naming the balance while money is unsettled; then the erasure runs."""
        return erasure.decide(request_session(), erasure_id, principal().actor, True, data["note"])


@blp.route("/erasure-requests/<erasure_id>/reject")
class ErasureRejection(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(ErasureDecisionSchema)
    @blp.response(200, ErasureSchema)
    def post(self, data: dict, erasure_id: str):
        """Reject the request (with a note for the tenant)."""
        return erasure.decide(request_session(), erasure_id, principal().actor, False, data["note"])


@blp.route("/tenants/<tenant_id>/restriction")
class Restriction(MethodView):
    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.arguments(RestrictionSchema)
    @blp.response(200, TenantSchema)
    def put(self, data: dict, tenant_id: str):
        """Restrict processing: the data is kept; usage is not rated, nothing is authorised
        and no top-up is taken until the restriction is lifted."""
        who = _own_tenant(tenant_id)
        return restriction.set_restriction(
            request_session(), who.actor, tenant_id, data["reason"], True
        )

    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.response(200, TenantSchema)
    def delete(self, tenant_id: str):
        """Lift the restriction."""
        who = _own_tenant(tenant_id)
        return restriction.set_restriction(request_session(), who.actor, tenant_id, None, False)
