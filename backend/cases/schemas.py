"""Marshmallow schemas of the built-in agency's inbox."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.cases.models import LEGAL_STAGES, PAYMENT_STATES, PROCESSING_STATES
from backend.schemas import PageArgsSchema, per_page_field

MONEY = {"as_string": True, "places": 2}


class CaseListArgsSchema(PageArgsSchema):
    per_page = per_page_field(50)


class CasePaymentInSchema(Schema):
    amount = fields.Decimal(required=True, places=2, validate=validate.Range(min=0.01, max=10**9))
    value_date = fields.Date(load_default=None, allow_none=True)
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class CaseEventSchema(Schema):
    legal_stage = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEGAL_STAGES))
    processing_state = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(PROCESSING_STATES)
    )
    payment_state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PAYMENT_STATES))
    payment = fields.Nested(CasePaymentInSchema, load_default=None, allow_none=True)
    rejection_reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=1000)
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        keys = ("legal_stage", "processing_state", "payment_state", "payment", "rejection_reason", "note")
        if all(data.get(key) is None for key in keys):
            raise ValidationError(
                "Report a status change, a payment, a rejection or a note.", field_name="_schema"
            )


class CasePaymentSchema(Schema):
    source = fields.String()
    reference = fields.String()
    amount = fields.Decimal(**MONEY)
    value_date = fields.Date()
    created_at = fields.DateTime()


class CaseEventOutSchema(Schema):
    kind = fields.String()
    data = fields.Dict()
    note = fields.String(allow_none=True)
    actor = fields.String()
    created_at = fields.DateTime()


class CaseSchema(Schema):
    id = fields.Integer()
    your_reference = fields.String()
    debtor_name = fields.String()
    invoice_number = fields.String()
    currency = fields.String()
    principal = fields.Decimal(**MONEY)
    interest = fields.Decimal(**MONEY)
    costs = fields.Decimal(**MONEY)
    paid_before = fields.Decimal(**MONEY)
    submission_state = fields.String()
    legal_stage = fields.String()
    processing_state = fields.String()
    payment_state = fields.String()
    rejection_reason = fields.String(allow_none=True)
    document_filename = fields.String(allow_none=True)
    document_mime_type = fields.String(allow_none=True)
    balance = fields.Dict(keys=fields.String(), values=fields.Decimal(**MONEY))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CaseDetailSchema(CaseSchema):
    data = fields.Dict(metadata={"description": "the handed-over case with its §13a RDG data"})
    payments = fields.List(fields.Nested(CasePaymentSchema))
    events = fields.List(fields.Nested(CaseEventOutSchema))


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
