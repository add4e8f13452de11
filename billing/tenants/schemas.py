"""The tenant resource on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from billing.core.money import Currency
from billing.core.phone import normalise_msisdn
from billing.tenants.models import BillingMode, TenantStatus
from invoices.taxpayer import format_tin, format_vrn, normalise_tin, normalise_vrn


class Normalised(fields.String):
    """A string field that loads through a normaliser raising ValueError."""

    def __init__(self, normalise: Callable[[str], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normalise = normalise

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.normalise(text)
        except ValueError as error:
            raise ValidationError(str(error)) from error


class TenantCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    msisdn = Normalised(normalise_msisdn, required=True)
    tin = Normalised(normalise_tin, load_default=None, allow_none=True)
    vrn = Normalised(normalise_vrn, load_default=None, allow_none=True)
    billing_mode = fields.Enum(BillingMode, by_value=True, required=True)
    currency = fields.Enum(Currency, by_value=True, required=True)


class TenantSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    msisdn = fields.String()
    tin = fields.Function(lambda t: format_tin(t.tin) if t.tin else None)
    vrn = fields.Function(lambda t: format_vrn(t.vrn) if t.vrn else None)
    billing_mode = fields.Enum(BillingMode, by_value=True)
    currency = fields.Enum(Currency, by_value=True)
    status = fields.Enum(TenantStatus, by_value=True)
    created_at = fields.AwareDateTime()


class CreatedTenantSchema(TenantSchema):
    api_key = fields.String(metadata={"description": "the first tenant_admin key, shown once"})
