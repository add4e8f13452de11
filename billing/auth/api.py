"""Tenant API keys: a tenant admin (or an admin) issues and revokes them."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy.orm import Session

from billing.auth import service
from billing.auth.access import finds, principal, requires
from billing.auth.models import ApiKey, Role
from billing.auth.principal import Principal
from billing.auth.schemas import ApiKeyCreateSchema, ApiKeySchema, CreatedApiKeySchema
from billing.core.errors import NotFound
from billing.tenants.service import get_tenant
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.session import request_session

blp = Blueprint("api_keys", __name__, url_prefix="/v1", description="API keys")
KEY_ADMINS = (Role.ADMIN, Role.TENANT_ADMIN)


@finds("key_id")
def _find_key(session: Session, key_id: str, who: Principal) -> ApiKey:
    """A tenant key finds only its own tenant's keys; staff find any."""
    key = session.get(ApiKey, key_id)
    if key is None or (who.tenant_id is not None and key.tenant_id != who.tenant_id):
        raise NotFound(f"API key {key_id} not found")
    return key


@blp.route("/tenants/<tenant_id>/api-keys")
class TenantApiKeys(MethodView):
    @idempotent(shown_once=("api_key",))
    @requires(*KEY_ADMINS)
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, CreatedApiKeySchema)
    def post(self, data: dict, tenant_id: str):
        """Issue a key for the tenant; the token is shown once."""
        if not principal().can_see_tenant(tenant_id):
            raise NotFound(f"tenant {tenant_id} not found")
        session = request_session()
        get_tenant(session, tenant_id)
        key, token = service.issue_key(session, tenant_id=tenant_id, **data)
        return service.WithToken(key, token)


@blp.route("/api-keys/<key_id>/revoke")
class RevokeApiKey(MethodView):
    @requires(*KEY_ADMINS)
    @blp.response(200, ApiKeySchema)
    def post(self, key_id: str):
        """Revoke a key at once; revoking twice is harmless."""
        return service.revoke_key(request_session(), key_id=key_id, tenant_id=principal().tenant_id)
