"""Marshmallow schemas of the handovers area."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.handovers.models import AGENCY_KINDS, HANDOVER_STATUSES
from backend.schemas import PageArgsSchema, money_amount, row_id

MONEY = {"as_string": True, "places": 2}


class HandoverListArgsSchema(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(HANDOVER_STATUSES))


class DecisionSchema(Schema):
    by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class BulkDecisionSchema(DecisionSchema):
    ids = fields.List(row_id(), required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _distinct(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(set(data["ids"])) != len(data["ids"]):
            raise ValidationError("Each handover may be named once.", field_name="ids")


class HandoverStatusUpdateSchema(Schema):
    submission_state = fields.String()
    legal_stage = fields.String(allow_none=True)
    processing_state = fields.String(allow_none=True)
    payment_state = fields.String(allow_none=True)
    balance_total = fields.Decimal(allow_none=True, **MONEY)
    title = fields.String(allow_none=True)
    created_at = fields.DateTime()


class HandoverPaymentSchema(Schema):
    source = fields.String(metadata={"enum": ["agency", "shop"]})
    amount = fields.Decimal(**MONEY)
    value_date = fields.Date()
    reported_at = fields.DateTime(allow_none=True)


class HandoverSchema(Schema):
    id = fields.Integer()
    receivable_id = fields.Integer()
    order_number = fields.String()
    buyer_name = fields.String()
    status = fields.String(metadata={"enum": list(HANDOVER_STATUSES)})
    agency = fields.String(allow_none=True)
    currency = fields.String()
    principal = fields.Decimal(**MONEY)
    total = fields.Decimal(**MONEY)
    breakdown = fields.Dict(
        metadata={"description": "the claim frozen at proposal: principal, fees, interest"}
    )
    limitation_date = fields.Date()
    proposed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    idempotency_key = fields.String(metadata={"description": "the agency's your_reference"})
    case_id = fields.String(allow_none=True)
    agency_reference = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    rejection_details = fields.Dict()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    document_source = fields.String(
        allow_none=True, metadata={"description": "shop (its invoice) or generated (claim statement)"}
    )
    document_note = fields.String(
        allow_none=True, metadata={"description": "why the shop's invoice is missing"}
    )
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    legal_stage = fields.String(allow_none=True)
    processing_state = fields.String(allow_none=True)
    payment_state = fields.String(allow_none=True)
    balance_total = fields.Decimal(allow_none=True, **MONEY)
    collected_total = fields.Decimal(**MONEY)
    direct_total = fields.Decimal(**MONEY)
    closed_at = fields.DateTime(allow_none=True)


class HandoverDetailSchema(HandoverSchema):
    status_history = fields.List(fields.Nested(HandoverStatusUpdateSchema))
    payments = fields.List(fields.Nested(HandoverPaymentSchema))


class HandoverPageSchema(Schema):
    items = fields.List(fields.Nested(HandoverSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DecidedSchema(Schema):
    items = fields.List(fields.Nested(HandoverSchema))


class HandoverSummarySchema(Schema):
    proposed = fields.Integer(metadata={"description": "proposals waiting for the merchant's decision"})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReadinessSchema(Schema):
    receivable_id = fields.Integer()
    ready = fields.Boolean()
    blockers = fields.List(fields.String())


class CreditorAddressSchema(Schema):
    street = fields.String(required=True, validate=validate.Length(min=1, max=200))
    house_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    postal_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    country = fields.String(load_default="DE", validate=validate.Regexp(r"^[A-Z]{2}$"))


class HandoverRulesSchema(Schema):
    minimum_amount = fields.Decimal(
        load_default="0.00", places=2, as_string=True, validate=validate.Range(min=0, max=10**9)
    )
    auto_approve_consumer_up_to = fields.Decimal(
        load_default=None,
        allow_none=True,
        as_string=True,
        validate=[validate.Range(min=0, max=10**9), money_amount],
    )
    auto_approve_business_up_to = fields.Decimal(
        load_default=None,
        allow_none=True,
        as_string=True,
        validate=[validate.Range(min=0, max=10**9), money_amount],
    )
    agency = fields.String(load_default="builtin", validate=validate.OneOf(AGENCY_KINDS))
    agency_base_url = fields.Url(
        load_default=None, allow_none=True, schemes={"https", "http"}, require_tld=False
    )
    agency_api_key = fields.String(
        load_default=None, allow_none=True, load_only=True, validate=validate.Length(max=500)
    )
    agency_api_key_set = fields.Boolean(dump_only=True)
    creditor_address = fields.Nested(CreditorAddressSchema, required=True)


class HandoverRulesResponseSchema(HandoverRulesSchema):
    """The rules as stored; the creditor address is null until the merchant sets one."""

    creditor_address = fields.Nested(CreditorAddressSchema, required=True, allow_none=True)
