"""Marshmallow schemas of the audit trail API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import PageArgsSchema, UTCDateTimeField, per_page_field


class AuditListArgsSchema(PageArgsSchema):
    per_page = per_page_field(50)
    action = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    since = UTCDateTimeField(load_default=None, default_timezone=None)


class AuditEventSchema(Schema):
    id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    details = fields.Dict()
    remote_addr = fields.String(allow_none=True)
    created_at = fields.DateTime()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
