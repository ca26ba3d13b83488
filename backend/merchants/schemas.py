"""Marshmallow schemas of the merchant area."""

from marshmallow import Schema, fields


class MerchantSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    settings = fields.Dict(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ConnectionSchema(Schema):
    """A shop connection as the API shows it: credentials are never included."""

    id = fields.Integer(dump_only=True)
    platform = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    shop_url = fields.String(dump_only=True)
    shop_id = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    has_credentials = fields.Function(lambda c: c.credentials_encrypted is not None, dump_only=True)
    last_synced_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
