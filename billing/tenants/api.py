"""/v1/tenants: create (admin), read (staff, the tenant itself), update the address and
language (admin, the tenant's admin)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth.access import ANYONE, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.errors import Forbidden, NotFound
from billing.tenants import service
from billing.tenants.schemas import (
    CreatedTenantSchema,
    TenantCreateSchema,
    TenantSchema,
    TenantUpdateSchema,
)
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("tenants", __name__, url_prefix="/v1/tenants", description="Tenants")


@finds("tenant_id")
def _find_tenant(session: Session, tenant_id: str, who: Principal) -> object:
    """A tenant key finds only its own tenant; staff find any."""
    if not who.can_see_tenant(tenant_id):
        raise NotFound(f"tenant {tenant_id} not found")
    return service.get_tenant(session, tenant_id)


@blp.route("")
class Tenants(MethodView):
    @idempotent(shown_once=("api_key",))
    @requires(Role.ADMIN)
    @blp.arguments(TenantCreateSchema)
    @blp.response(201, CreatedTenantSchema)
    def post(self, data: dict):
        """Create a tenant, its wallet and a first tenant_admin API key (shown once)."""
        return service.create_tenant(request_session(), service.NewTenant(**data))


@blp.route("/<tenant_id>")
class TenantById(MethodView):
    @requires(*ANYONE)
    @blp.response(200, TenantSchema)
    def get(self, tenant_id: str):
        """A tenant; a tenant key sees only its own."""
        if not principal().can_see_tenant(tenant_id):
            raise NotFound(f"tenant {tenant_id} not found")
        return service.get_tenant(request_session(), tenant_id)

    @requires(Role.ADMIN, Role.TENANT_ADMIN)
    @blp.arguments(TenantUpdateSchema)
    @blp.response(200, TenantSchema)
    def patch(self, data: dict, tenant_id: str):
        """Change the postal address or document language; finalised documents keep theirs."""
        who = principal()
        if not who.can_see_tenant(tenant_id):
            raise NotFound(f"tenant {tenant_id} not found")
        if "payment_terms_days" in data and who.role is not Role.ADMIN:
            raise Forbidden("only an admin sets payment terms",
                            {"payment_terms_days": ["admins only"]})  # fmt: skip
        return service.update_tenant(request_session(), who.actor, tenant_id, data)
