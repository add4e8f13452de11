"""Invoices, credit notes and invoice runs on the wire."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from billing.core.money import Currency
from billing.invoicing.documents import totals_of
from billing.invoicing.models import CreditUse, PaymentMethod, PaymentStatus, ZReportStatus
from billing.invoicing.states import DocumentKind, FiscalStatus, InvoiceSource, InvoiceStatus
from billing.web.fields import Day, DecimalString, DocumentText, Instant
from billing.web.pagination import PageArgs
from invoices.pdf.numbers import exact_price


class PeriodSchema(Schema):
    period_start = Day(required=True)
    period_end = Day(required=True, metadata={"description": "exclusive"})

    @validates_schema
    def check_period(self, data: dict, **_kwargs) -> None:
        if data["period_end"] <= data["period_start"]:
            raise ValidationError("must be after period_start", "period_end")


class InvoiceCreateSchema(PeriodSchema):
    tenant_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ExchangeRateSchema(Schema):
    tzs_per_unit = DecimalString(required=True, integer_digits=6, places=6, positive=True)
    source = DocumentText(100, required=True)


class FinalizeSchema(Schema):
    exchange_rate = fields.Nested(
        ExchangeRateSchema,
        load_default=None,
        metadata={"description": "required for a USD invoice: TZS per USD and its source"},
    )


class CreditLineSchema(Schema):
    position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "minor units credited, on the line's own basis (net)"},
    )


class CreditNoteCreateSchema(Schema):
    reason = DocumentText(
        500,
        required=True,
        metadata={"description": "the adjustment event (VAT Act s.87): what happened"},
    )
    lines = fields.List(
        fields.Nested(CreditLineSchema),
        load_default=None,
        validate=validate.Length(min=1),
        metadata={"description": "default: credit the whole invoice"},
    )


class InvoiceRunSchema(PeriodSchema):
    pass


class InvoiceLineSchema(Schema):
    position = fields.Integer()
    item_id = fields.String()
    description = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit = fields.String()
    unit_price = fields.Function(
        lambda line: exact_price(line.unit_price),
        metadata={"description": "decimal string, major units, no trailing zeros past 2"},
    )
    vat_code = fields.String()
    amount = fields.Integer(attribute="amount_minor")


class FiscalSchema(Schema):
    status = fields.Enum(FiscalStatus, by_value=True, attribute="fiscal_status")
    gc = fields.Integer(allow_none=True)
    dc = fields.Integer(allow_none=True)
    znum = fields.String(allow_none=True)
    verification_code = fields.String(attribute="rctvnum", allow_none=True)
    attempts = fields.Integer(attribute="fiscal_attempts")
    last_ack_code = fields.Integer(allow_none=True)
    last_error = fields.String(attribute="last_fiscal_error", allow_none=True)
    fiscalised_at = Instant(allow_none=True)
    confirmed_by = fields.String(attribute="fiscal_confirmed_by", allow_none=True)
    confirmed_at = Instant(attribute="fiscal_confirmed_at", allow_none=True)
    tra_verification = fields.String(allow_none=True)


_TOTAL = {"type": "integer", "description": "minor units; a draft's as a preview"}


class InvoiceSchema(Schema):
    id = fields.String()
    tenant_id = fields.String()
    kind = fields.Enum(DocumentKind, by_value=True)
    source = fields.Enum(InvoiceSource, by_value=True)
    status = fields.Enum(InvoiceStatus, by_value=True)
    number = fields.String(attribute="number_text", allow_none=True)
    currency = fields.String()
    period_start = Day(allow_none=True)
    period_end = Day(allow_none=True)
    issued_at = Instant(allow_none=True)
    original_invoice_id = fields.String(allow_none=True)
    topup_id = fields.String(allow_none=True)
    reason = fields.String()
    exchange_rate = fields.Decimal(as_string=True, allow_none=True)
    rate_source = fields.String(allow_none=True)
    net = fields.Function(lambda invoice: totals_of(invoice)[0], metadata=_TOTAL)
    vat = fields.Function(lambda invoice: totals_of(invoice)[1], metadata=_TOTAL)
    gross = fields.Function(lambda invoice: totals_of(invoice)[2], metadata=_TOTAL)
    totals_are_preview = fields.Function(
        lambda invoice: invoice.issued_at is None,
        metadata={"type": "boolean",
                  "description": "a draft: net, VAT and gross as its lines stand now"},
    )  # fmt: skip
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    fiscal = fields.Function(lambda invoice: FiscalSchema().dump(invoice))
    pdf_ready = fields.Function(lambda invoice: invoice.pdf_version > 0)
    payment_status = fields.Enum(PaymentStatus, by_value=True, allow_none=True)
    amount_paid = fields.Integer(attribute="amount_paid_minor")
    credit_applied = fields.Integer(
        attribute="credit_applied_minor",
        metadata={"description": "customer credit brought in from the tenant's other invoices"},
    )
    credit_used = fields.Integer(
        attribute="credit_used_minor",
        metadata={"description": "credit this invoice held, applied elsewhere or refunded"},
    )
    paid_at = Instant(allow_none=True)
    delivered_at = Instant(allow_none=True)
    created_at = Instant()


class InvoiceRunResultSchema(Schema):
    period_start = Day()
    period_end = Day()
    created = fields.List(fields.String(), metadata={"description": "new draft ids"})
    existing = fields.List(fields.String(), metadata={"description": "drafts made before"})
    skipped = fields.List(
        fields.String(), metadata={"description": "tenants with no rated usage in the period"}
    )
    failed = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "tenant: why"}
    )


class ZReportRequestSchema(Schema):
    day = Day(required=True, metadata={"description": "a closed business day (EAT): before today"})


class ZReportSchema(Schema):
    id = fields.Integer()
    day = Day()
    znumber = fields.Function(lambda z: z.day.strftime("%Y%m%d"))
    efd_serial = fields.String()
    status = fields.Enum(ZReportStatus, by_value=True)
    tickets = fields.Integer(metadata={"description": "acknowledged receipts of the day"})
    daily_total = fields.Integer(attribute="daily_total_minor", metadata={"description": "TZS"})
    gross = fields.Integer(attribute="gross_minor", metadata={"description": "cumulative, TZS"})
    attempts = fields.Integer()
    last_ack_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    acknowledged_at = Instant(allow_none=True)
    created_at = Instant()


class ZReportListSchema(Schema):
    items = fields.List(fields.Nested(ZReportSchema))


class _MoneyMovedSchema(Schema):
    """Money between the customer and us by a payment method: a payment, a refund."""

    amount = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1),
        metadata={"description": "minor units"},
    )  # fmt: skip
    currency = fields.Enum(Currency, by_value=True, required=True)
    method = fields.Enum(PaymentMethod, by_value=True, required=True)
    reference = fields.String(
        required=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "the bank's or the operator's reference for the money"},
    )  # fmt: skip


class PaymentCreateSchema(_MoneyMovedSchema):
    """Minor units received; at most what is due."""

    received_at = Instant(required=True)


class PaymentSchema(Schema):
    id = fields.String()
    invoice_id = fields.String()
    amount = fields.Integer(attribute="amount_minor")
    currency = fields.String()
    method = fields.Enum(PaymentMethod, by_value=True)
    reference = fields.String()
    received_at = Instant()
    ledger_transaction_id = fields.String()
    recorded_by = fields.String()
    created_at = Instant()


class RecordedPaymentSchema(Schema):
    payment = fields.Nested(PaymentSchema)
    amount_due = fields.Integer(metadata={"description": "left to pay on the invoice after it"})
    payment_status = fields.Enum(PaymentStatus, by_value=True)


class PaymentListSchema(Schema):
    items = fields.List(fields.Nested(PaymentSchema))
    amount_due = fields.Integer()


class CreditRefundCreateSchema(_MoneyMovedSchema):
    """Minor units paid back; at most the credit the invoice holds."""


class CreditSchema(Schema):
    id = fields.String()
    use = fields.Enum(CreditUse, by_value=True)
    from_invoice_id = fields.String()
    to_invoice_id = fields.String(allow_none=True)
    amount = fields.Integer(attribute="amount_minor")
    currency = fields.String()
    method = fields.Enum(PaymentMethod, by_value=True, allow_none=True)
    reference = fields.String(allow_none=True)
    ledger_transaction_id = fields.String(allow_none=True)
    recorded_by = fields.String()
    created_at = Instant()


class RecordedCreditRefundSchema(Schema):
    refund = fields.Nested(CreditSchema)
    amount_due = fields.Integer(metadata={"description": "below zero: credit still held"})
    payment_status = fields.Enum(PaymentStatus, by_value=True)


class CreditListSchema(Schema):
    items = fields.List(fields.Nested(CreditSchema))
    amount_due = fields.Integer(metadata={"description": "below zero: credit still held"})


class InvoiceListArgs(PageArgs):
    tenant_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=40),
        metadata={"description": "staff only: a tenant key always lists its own"},
    )  # fmt: skip
    kind = fields.Enum(DocumentKind, by_value=True, load_default=None)
    source = fields.Enum(InvoiceSource, by_value=True, load_default=None)
    status = fields.Enum(InvoiceStatus, by_value=True, load_default=None)
    period = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$", error="YYYY-MM"),
        metadata={"description": "YYYY-MM: postpaid invoices billing that month, other "
                                 "documents issued in it (EAT)", "pattern":
                                 "^20[0-9]{2}-(0[1-9]|1[0-2])$"},
    )  # fmt: skip
    number = fields.String(load_default=None, validate=validate.Length(min=1, max=30))
    payment_status = fields.Enum(PaymentStatus, by_value=True, load_default=None)
    topup_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class InvoicePageSchema(Schema):
    items = fields.List(fields.Nested(InvoiceSchema))
    next_cursor = fields.String(allow_none=True)
