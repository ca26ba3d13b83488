"""Marshmallow schemas of the merchant area."""

from marshmallow import Schema, fields, validate

from backend.merchants.connectors import invoice_methods_of


class MerchantSchema(Schema):
    """Who the token acts for and what it may do; settings are read through their own scoped endpoints."""

    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    scopes = fields.List(fields.String(), dump_only=True, metadata={"description": "the token's scopes"})


class ConnectionSchema(Schema):
    """A shop connection as the API shows it: credentials are never included."""

    id = fields.Integer(dump_only=True)
    platform = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    shop_url = fields.String(dump_only=True)
    shop_id = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    has_credentials = fields.Function(lambda c: c.credentials_encrypted is not None, dump_only=True)
    invoice_methods = fields.Function(
        lambda c: list(invoice_methods_of(c)),
        dump_only=True,
        metadata={
            "description": "the policy's invoice_methods (one list for every shop; PUT /api/v1/policy)"
        },
    )
    last_synced_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    webhooks = fields.List(
        fields.Nested(lambda: WebhookHealthSchema()),
        dump_only=True,
        metadata={
            "description": "WooCommerce: each topic's webhook, its status in the shop and what reached us"
        },
    )
    problems = fields.List(
        fields.Dict(),
        dump_only=True,
        metadata={"description": "What keeps the connection from working fully: code, message and fix"},
    )


class WebhookHealthSchema(Schema):
    """One webhook topic of a WooCommerce connection."""

    topic = fields.String()
    webhook_id = fields.Integer(allow_none=True)
    status_in_shop = fields.String(allow_none=True)
    checked_at = fields.DateTime(allow_none=True)
    last_delivery_at = fields.DateTime(allow_none=True)
    ping_received = fields.Boolean()


class ConnectionCreateSchema(Schema):
    """A shop to connect: its platform, URL and API credentials (checked against the shop before saving).

    Shopware: ``{"api_key", "secret_key"}`` of an integration; WooCommerce: ``{"consumer_key",
    "consumer_secret"}`` of a REST key with Read/Write permission.
    """

    platform = fields.String(required=True, validate=validate.OneOf(("shopware", "woocommerce")))
    shop_url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    credentials = fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.Length(max=500)), required=True
    )


class ConnectionUpdateSchema(Schema):
    """Changes to a connection; only the fields sent change. New URL or credentials are tried first."""

    shop_url = fields.String(validate=validate.Length(min=1, max=500))
    name = fields.String(validate=validate.Length(max=200))
    credentials = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=500)))


class PaymentMethodSchema(Schema):
    """A payment method the shop offers, and whether this connection counts it as invoice."""

    id = fields.String()
    title = fields.String()
    enabled = fields.Boolean()
    invoice_like = fields.Boolean()
