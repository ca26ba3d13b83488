"""Marshmallow schemas of the dunning area."""

from decimal import Decimal

from marshmallow import Schema, fields, validate

from backend.dunning.law import DUE_DATE_BASES
from backend.dunning.merchant_settings import NOTICE_LANGUAGES


class DunningStageSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"enum": ["reminder", "dunning", "final_notice"]})
    offset_days = fields.Integer(dump_only=True, metadata={"description": "days after the due date"})
    fee = fields.String(
        dump_only=True, metadata={"description": "decimal string; only letters may carry one (see fee_rules)"}
    )
    payment_deadline_days = fields.Integer(dump_only=True)
    channel = fields.String(dump_only=True, metadata={"enum": ["email", "shop", "letter", "none"]})


class FeeRuleSchema(Schema):
    max_fee = fields.String(dump_only=True, metadata={"description": "highest lawful fee, decimal string"})
    rule = fields.String(dump_only=True, metadata={"description": "why, in words a merchant can act on"})


class DunningScheduleSchema(Schema):
    debtor_kind = fields.String(dump_only=True)
    handover_after_days = fields.Integer(dump_only=True)
    grace_banking_days = fields.Integer(
        dump_only=True,
        metadata={"description": "1-3 banking days after the due date before the first notice"},
    )
    letter_cost = fields.String(
        dump_only=True,
        metadata={"description": "actual cost of one letter (at most 2.50), the letter fee cap"},
    )
    stages = fields.List(fields.Nested(DunningStageSchema), dump_only=True)
    fee_rules = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(FeeRuleSchema),
        dump_only=True,
        metadata={"description": "per channel"},
    )


class DunningSchedulesSchema(Schema):
    """Both schedules; each is checked in depth by ``backend.dunning.schedule`` (errors as JSON pointers)."""

    consumer = fields.Dict(required=True, metadata={"description": "schedule for consumers"})
    business = fields.Dict(required=True, metadata={"description": "schedule for businesses"})


class DunningSchedulesResponseSchema(Schema):
    consumer = fields.Nested(DunningScheduleSchema)
    business = fields.Nested(DunningScheduleSchema)


class NoticePaymentDetailsSchema(Schema):
    account_holder = fields.String(required=True, validate=validate.Length(min=1, max=140))
    iban = fields.String(required=True, validate=validate.Length(min=15, max=42))
    bic = fields.String(load_default=None, allow_none=True, metadata={"description": "derived when left out"})


class DunningSettingsSchema(Schema):
    payment_details = fields.Nested(NoticePaymentDetailsSchema, required=True)
    notice_language = fields.String(load_default="auto", validate=validate.OneOf(NOTICE_LANGUAGES))
    reply_to = fields.Email(load_default=None, allow_none=True)


class ClaimSettingsSchema(Schema):
    """Facts that decide default dates and debtor kinds (``services.ClaimSettings``); keys left out keep their value."""

    land = fields.String(
        allow_none=True,
        metadata={"description": "German Land (ISO 3166-2:DE, e.g. BY): its holidays count for §193"},
    )
    sells_to_businesses_only = fields.Boolean()
    invoices_carry_default_notice = fields.Boolean(
        metadata={
            "description": "invoices to consumers state that default follows 30 days after due date (§286(3))"
        }
    )
    due_date_from = fields.String(validate=validate.OneOf(DUE_DATE_BASES))
    payment_terms_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "days from due_date_from to the due date (default 14); shops show it"},
    )


class DunningSettingsResponseSchema(Schema):
    """The dunning settings as stored; payment details are null until the merchant sets them."""

    class _PaymentDetails(Schema):
        account_holder = fields.String(allow_none=True)
        iban = fields.String(allow_none=True)
        bic = fields.String(allow_none=True)

    payment_details = fields.Nested(_PaymentDetails, required=True)
    notice_language = fields.String(required=True)
    reply_to = fields.String(allow_none=True, required=True)


class DunningBuyerStopRequestSchema(Schema):
    email = fields.Email(required=True)
    stopped = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DunningBuyerStopSchema(Schema):
    stopped = fields.Boolean()
    reason = fields.String(allow_none=True)
    receivables = fields.Integer(metadata={"description": "receivables of this buyer at the merchant"})


class MerchantGuideSchema(Schema):
    """The merchant guide in one language, section by section."""

    class _Section(Schema):
        title = fields.String(required=True)
        paragraphs = fields.List(fields.String(), required=True)

    language = fields.String(required=True)
    sections = fields.List(fields.Nested(_Section), required=True)


class BaseRateStatusSchema(Schema):
    """Whether the §247 base rate of the current half-year is known."""

    status = fields.String(required=True, metadata={"description": "ok or missing"})
    half_year = fields.String(required=True)
    percent = fields.String(metadata={"description": "decimal string, only when known"})
    known_until = fields.String(allow_none=True)
    message = fields.String(required=True)


class GiroCodeRequestSchema(Schema):
    """A transfer to the merchant's account (the dunning settings' payment details)."""

    amount = fields.Decimal(
        required=True,
        as_string=True,
        validate=validate.Range(min=Decimal("0.01"), max=Decimal("999999999.99")),
    )
    reference = fields.String(required=True, validate=validate.Length(min=1, max=140))


class GiroCodeSchema(Schema):
    """An EPC QR code ("GiroCode") for a transfer."""

    payload = fields.String(metadata={"description": "the EPC069-12 version 002 payload the code encodes"})
    png = fields.String(metadata={"description": "the code as a PNG image, base64"})
    account = fields.Nested(
        NoticePaymentDetailsSchema,
        metadata={"description": "the account the code pays into, for the text beside it"},
    )
