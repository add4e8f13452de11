"""The tenant resource on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.core.money import Currency
from billing.core.phone import normalise_msisdn
from billing.tenants.address import (
    PO_BOX_PATTERN,
    normalise_country,
    normalise_po_box,
    postal_address,
)
from billing.tenants.models import BillingMode, Language, TenantStatus
from billing.web.fields import DocumentText, Instant
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


def _address_fields(**create: Any) -> dict[str, fields.Field]:
    """The buyer's postal address and document language; defaults only when creating."""

    def default(value: Any) -> dict[str, Any]:
        return {"load_default": value} if create else {}

    return {
        "street": DocumentText(200, allow_none=True, **default(None),
                               metadata={"description": "street and plot (or just `po_box`)"}),
        "po_box": Normalised(normalise_po_box, allow_none=True, **default(None),
                             metadata={"description": "`1234` or `P.O. Box 1234`",
                                       "pattern": PO_BOX_PATTERN}),
        "city": DocumentText(100, allow_none=True, **default(None)),
        "country": Normalised(normalise_country, **default("TZ"),
                              metadata={"description": "ISO 3166-1 alpha-2",
                                        "pattern": "^[A-Za-z]{2}$"}),
        "language": fields.Enum(Language, by_value=True, **default(Language.EN),
                                metadata={"description": "`en` or `sw`: documents print in it"}),
        "payment_terms_days": fields.Integer(
            strict=True, validate=validate.Range(min=0, max=365), **default(30),
            metadata={"description": "postpaid: days from issue to due date (admins only)"}),
    }  # fmt: skip


class TenantCreateSchema(Schema.from_dict(_address_fields(create=True))):  # type: ignore[misc]
    name = DocumentText(200, required=True, metadata={"description": "printed on invoices"})
    email = fields.Email(required=True, validate=validate.Length(max=254))
    msisdn = Normalised(normalise_msisdn, required=True)
    tin = Normalised(normalise_tin, load_default=None, allow_none=True)
    vrn = Normalised(normalise_vrn, load_default=None, allow_none=True)
    billing_mode = fields.Enum(BillingMode, by_value=True, required=True)
    currency = fields.Enum(Currency, by_value=True, required=True)


class TenantUpdateSchema(Schema.from_dict(_address_fields())):  # type: ignore[misc]
    """PATCH: only the fields given change; `null` clears a part of the address. A TIN or
    VRN change applies to documents finalised from now on, never to issued ones."""

    name = DocumentText(200, metadata={"description": "printed on invoices from now on"})
    email = fields.Email(validate=validate.Length(max=254))
    msisdn = Normalised(normalise_msisdn)
    tin = Normalised(normalise_tin, allow_none=True)
    vrn = Normalised(normalise_vrn, allow_none=True)

    tin = Normalised(normalise_tin, allow_none=True, metadata={"description": "TRA TIN"})
    vrn = Normalised(normalise_vrn, allow_none=True, metadata={"description": "VAT number"})

    @validates_schema
    def something_to_change(self, data: dict, **_kwargs) -> None:
        if not data:
            raise ValidationError("give at least one field to change", "_schema")


class TenantSchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    msisdn = fields.String()
    tin = fields.Function(lambda t: format_tin(t.tin) if t.tin else None)
    vrn = fields.Function(lambda t: format_vrn(t.vrn) if t.vrn else None)
    billing_mode = fields.Enum(BillingMode, by_value=True)
    currency = fields.Enum(Currency, by_value=True)
    street = fields.String(allow_none=True)
    po_box = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    country = fields.String()
    address = fields.Function(lambda t: postal_address(t.street, t.po_box, t.city, t.country))
    language = fields.Enum(Language, by_value=True)
    status = fields.Enum(TenantStatus, by_value=True)
    payment_terms_days = fields.Integer()
    overdue_since = Instant(
        allow_none=True,
        metadata={"description": "restricted by dunning (authorise: tenant_overdue) until paid"},
    )
    created_at = Instant()
    restricted_at = Instant(allow_none=True, metadata={
        "description": "processing restricted since: kept, not rated, authorised or topped up"
    })  # fmt: skip
    restriction_reason = fields.String(allow_none=True)


class CreatedTenantSchema(TenantSchema):
    api_key = fields.String(
        allow_none=True,
        metadata={"description": "the first tenant_admin key, shown once (null on a replay)"},
    )
    api_key_shown_once = fields.Boolean(
        metadata={"description": "true on an Idempotency-Key replay: the key is not stored"}
    )
