"""Marshmallow schemas of the console: the session API and the forms the pages post."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.receivables.services import AGING_BUCKETS
from backend.receivables.states import STATES
from backend.schemas import row_id


class ConsoleUserSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    locale = fields.String(
        load_default="de-DE",
        validate=validate.Regexp(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$", error="Use a locale like de-DE."),
        metadata={"description": "the shop user's locale; German (de-*) or English for everything else"},
    )


class ConsoleSessionRequestSchema(Schema):
    user = fields.Nested(ConsoleUserSchema, required=True)


class ConsoleSessionSchema(Schema):
    url = fields.String(
        metadata={"description": "absolute one-time URL of the console; use it once, at once"}
    )
    expires_at = fields.DateTime()


class ShopUserSchema(Schema):
    """The Administration user as the Admin Extension SDK's ``getUserInformation`` answers (the part we keep)."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    firstName = fields.String(load_default="", validate=validate.Length(max=100))
    lastName = fields.String(load_default="", validate=validate.Length(max=100))
    username = fields.String(load_default="", validate=validate.Length(max=100))

    @validates_schema
    def _named(self, data: dict[str, str], **_: object) -> None:
        if not any(data[key].strip() for key in ("firstName", "lastName", "username")):
            raise ValidationError("a user needs a name or a username", "username")


class HandoverListArgsSchema(Schema):
    status = fields.String(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    orders = fields.String(load_default=None, validate=validate.Length(max=3400))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class HandoverDecisionFormSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject", "withdraw")))
    ids = fields.List(row_id(strict=False), load_default=list, validate=validate.Length(max=200))
    reason = fields.String(load_default="", validate=validate.Length(max=1000))


class ReceivableListArgsSchema(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    aging = fields.String(load_default=None, validate=validate.OneOf(list(AGING_BUCKETS)))
    overdue = fields.Boolean(load_default=False)
    number = fields.String(load_default=None, validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
