"""Marshmallow schemas of the shop outbox API."""

from __future__ import annotations

from marshmallow import Schema, fields

from backend.shop_outbox.services import OUTBOXES


class ParkedItemSchema(Schema):
    outbox = fields.String(metadata={"enum": list(OUTBOXES)})
    id = fields.Integer()
    connection_id = fields.Integer()
    kind = fields.String(
        metadata={"description": "case_fields, note, payment, admin_notice, remind or order_sync"}
    )
    order_id = fields.String(allow_none=True, metadata={"description": "the shop's order id, if any"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    parked_at = fields.DateTime()


class ParkedListSchema(Schema):
    items = fields.List(fields.Nested(ParkedItemSchema))
