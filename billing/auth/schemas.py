"""API keys on the wire. The token appears once, in the creating response."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.auth.models import TENANT_ROLES, Role
from billing.web.fields import Instant


class ApiKeyCreateSchema(Schema):
    role = fields.Enum(
        Role,
        by_value=True,
        required=True,
        validate=validate.OneOf(sorted(TENANT_ROLES)),
        metadata={"enum": sorted(role.value for role in TENANT_ROLES)},
    )
    label = fields.String(load_default="", validate=validate.Length(max=100))


class ApiKeySchema(Schema):
    id = fields.String()
    prefix = fields.String()
    role = fields.Enum(Role, by_value=True)
    tenant_id = fields.String(allow_none=True)
    label = fields.String()
    created_at = Instant()
    revoked_at = Instant(allow_none=True)


class CreatedApiKeySchema(ApiKeySchema):
    api_key = fields.String(
        allow_none=True, metadata={"description": "the bearer token, shown once (null on a replay)"}
    )
    api_key_shown_once = fields.Boolean(
        metadata={"description": "true on an Idempotency-Key replay: the key is not stored"}
    )
