"""Marshmallow schemas of the WooCommerce connect flow."""

from marshmallow import Schema, fields, validate


class ConnectSessionRequestSchema(Schema):
    shop_url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "the shop's home URL, as WordPress knows it"},
    )


class ConnectSessionSchema(Schema):
    """What the plugin needs to send the merchant to ``{shop}/wc-auth/v1/authorize``."""

    state = fields.String(metadata={"description": "one-time state, sent to WooCommerce as user_id"})
    callback_url = fields.String(metadata={"description": "where WooCommerce posts the keys"})
    expires_at = fields.DateTime()
