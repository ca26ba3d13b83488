"""Marshmallow schemas of the dunning area."""

from marshmallow import Schema, fields, validate

from backend.dunning.services import NOTICE_LANGUAGES


class DunningStageSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"enum": ["reminder", "dunning", "final_notice"]})
    offset_days = fields.Integer(dump_only=True, metadata={"description": "days after the due date"})
    fee = fields.String(dump_only=True, metadata={"description": "decimal string, at most 2.50"})
    payment_deadline_days = fields.Integer(dump_only=True)
    channel = fields.String(dump_only=True, metadata={"enum": ["email", "shop", "none"]})


class DunningScheduleSchema(Schema):
    debtor_kind = fields.String(dump_only=True)
    handover_after_days = fields.Integer(dump_only=True)
    stages = fields.List(fields.Nested(DunningStageSchema), dump_only=True)


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


class DunningBuyerStopRequestSchema(Schema):
    email = fields.Email(required=True)
    stopped = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DunningBuyerStopSchema(Schema):
    stopped = fields.Boolean()
    reason = fields.String(allow_none=True)
    receivables = fields.Integer(metadata={"description": "receivables of this buyer at the merchant"})
