"""Marshmallow schemas of the buyer export and erasure (GDPR Art. 15 and 17)."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

MONEY = {"as_string": True, "places": 2}
REFERENCE = r"[A-Za-z0-9._:-]{1,64}"
REFERENCE_RULE = "Use a reference such as a ticket id: 1-64 of A-Z a-z 0-9 . _ : -"


def is_reference(value: str) -> bool:
    """Return whether ``value`` is a short reference (a ticket id, a staff handle), not free text."""
    return re.fullmatch(REFERENCE, value) is not None


def _reference(value: str) -> None:
    if not is_reference(value):
        raise ValidationError(REFERENCE_RULE)


class DataSubjectSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class ErasureRequestSchema(DataSubjectSchema):
    # A reference (ticket id, staff handle), never free text: it goes into the append-only audit trail.
    by = fields.String(
        required=True,
        validate=_reference,
        metadata={"pattern": f"^{REFERENCE}$"},
    )


class HistoryEntrySchema(Schema):
    kind = fields.String()
    amount = fields.Decimal(allow_none=True, **MONEY)
    booked_on = fields.Date(allow_none=True)
    source = fields.String(allow_none=True)
    created_at = fields.DateTime()


class NoticeExportSchema(Schema):
    kind = fields.String()
    level = fields.Integer()
    channel = fields.String()
    fee = fields.Decimal(**MONEY)
    status = fields.String()
    sent_at = fields.DateTime(allow_none=True)
    deadline_on = fields.Date(allow_none=True)


class HandoverExportSchema(Schema):
    status = fields.String()
    agency = fields.String(allow_none=True)
    agency_reference = fields.String(allow_none=True)
    total = fields.Decimal(**MONEY)
    proposed_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class BankPaymentSchema(Schema):
    booking_date = fields.Date()
    amount = fields.Decimal(**MONEY)
    payer_name = fields.String()
    payer_iban = fields.String()
    remittance = fields.String()
    status = fields.String()


class ReceivableExportSchema(Schema):
    number = fields.String()
    state = fields.String()
    currency = fields.String()
    total_amount = fields.Decimal(**MONEY)
    paid_amount = fields.Decimal(**MONEY)
    credited_amount = fields.Decimal(**MONEY)
    balance = fields.Decimal(**MONEY)
    payment_method = fields.String(allow_none=True)
    ordered_at = fields.DateTime()
    invoice_date = fields.Date()
    due_date = fields.Date()
    paid_at = fields.DateTime(allow_none=True)
    buyer = fields.Dict()
    billing_address = fields.Dict()
    shipping_address = fields.Dict(allow_none=True)
    line_items = fields.List(fields.Dict())
    dispute_reason = fields.String(allow_none=True)
    dunning_stop_reason = fields.String(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    risk_check_id = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntrySchema))
    dunning_notices = fields.List(fields.Nested(NoticeExportSchema))
    handovers = fields.List(fields.Nested(HandoverExportSchema))
    payments_from_bank = fields.List(fields.Nested(BankPaymentSchema))


class RiskCheckExportSchema(Schema):
    id = fields.String()
    created_at = fields.DateTime()
    reference = fields.String(allow_none=True)
    amount = fields.Decimal(**MONEY)
    currency = fields.String()
    decision = fields.String()
    score = fields.Integer()
    reasons = fields.List(fields.Dict())
    offered_methods = fields.List(fields.String())
    hidden_methods = fields.List(fields.String())
    bureau = fields.Dict(allow_none=True)
    raw_input = fields.Dict(allow_none=True)


class CreditReportExportSchema(Schema):
    provider = fields.String()
    score_type = fields.String()
    result = fields.Dict()
    fetched_at = fields.DateTime()


class OverrideExportSchema(Schema):
    mode = fields.String()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()


class DunningBuyerStopExportSchema(Schema):
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()


class GatewayDecisionExportSchema(Schema):
    customer_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    amount = fields.Decimal(allow_none=True, **MONEY)
    hidden = fields.List(fields.String())
    created_at = fields.DateTime()


class KnownIbanSchema(Schema):
    iban = fields.String()
    learned_at = fields.DateTime()


class BuyerExportSchema(Schema):
    email = fields.String()
    exported_at = fields.DateTime()
    receivables = fields.List(fields.Nested(ReceivableExportSchema))
    risk_checks = fields.List(fields.Nested(RiskCheckExportSchema))
    credit_reports = fields.List(fields.Nested(CreditReportExportSchema))
    overrides = fields.List(fields.Nested(OverrideExportSchema))
    known_payer_ibans = fields.List(fields.Nested(KnownIbanSchema))
    dunning_buyer_stops = fields.List(fields.Nested(DunningBuyerStopExportSchema))
    shopware_gateway_decisions = fields.List(fields.Nested(GatewayDecisionExportSchema))
    retention = fields.List(fields.String())


class ErasureReportSchema(Schema):
    deleted = fields.Dict(keys=fields.String(), values=fields.Integer())
    blanked = fields.Dict(keys=fields.String(), values=fields.Integer())
    pseudonymised_receivables = fields.List(fields.String())
    kept_open_claims = fields.List(fields.String())
    kept = fields.List(fields.String())
