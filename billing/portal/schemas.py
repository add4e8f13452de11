"""POST /v1/portal-sessions on the wire."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from billing.auth.models import Role


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("must be an absolute http(s) URL")


class PortalSessionCreateSchema(Schema):
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    user_email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Enum(
        Role,
        by_value=True,
        required=True,
        metadata={"description": "`tenant_admin` or `tenant_user`"},
    )
    return_url = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=500), _http_url],
        metadata={"description": "where the portal's 'back' link leads"},
    )


class PortalSessionSchema(Schema):
    id = fields.String()
    url = fields.String(
        allow_none=True, metadata={"description": "open once, within minutes; shown once"}
    )
    tenant_id = fields.String()
    user_email = fields.String()
    role = fields.String()
    expires_at = fields.AwareDateTime()
