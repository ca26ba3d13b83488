"""Marshmallow schemas for the parts of Shopware's requests the endpoints read (after signature checks)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class WebhookSourceSchema(_Lenient):
    shop_id = fields.String(data_key="shopId", required=True, validate=validate.Length(min=1, max=100))
    event_id = fields.String(data_key="eventId", required=True, validate=validate.Length(min=1, max=100))
    app_version = fields.String(data_key="appVersion", load_default=None, validate=validate.Length(max=50))
    url = fields.String(load_default=None)


class WebhookDataSchema(_Lenient):
    event = fields.String(required=True, validate=validate.Length(min=1, max=100))
    payload = fields.Raw(load_default=None, allow_none=True)


class WebhookSchema(_Lenient):
    """A webhook or lifecycle event body: ``{"data": {"event", "payload"}, "source": {…}, "timestamp"}``."""

    data = fields.Nested(WebhookDataSchema, required=True)
    source = fields.Nested(WebhookSourceSchema, required=True)
    timestamp = fields.Raw(required=True)


class DeletedPayloadSchema(_Lenient):
    """``app.deleted``: ``keepUserData`` exists only from Shopware 6.6.9.0 (before, the payload is ``[]``)."""

    keep_user_data = fields.Boolean(data_key="keepUserData", load_default=None, truthy={True}, falsy={False})


SHOPWARE_ID_PATTERN = r"^[0-9a-fA-F]{32}$"
MAX_SELECTED_ORDERS = 200


class ActionDataSchema(_Lenient):
    ids = fields.List(
        fields.String(validate=validate.Regexp(SHOPWARE_ID_PATTERN, error="not a Shopware id")),
        required=True,
        validate=validate.Length(min=1, max=MAX_SELECTED_ORDERS),
    )
    entity = fields.String(required=True, validate=validate.Equal("order"))
    action = fields.String(load_default=None, validate=validate.Length(max=100))


class ActionSchema(_Lenient):
    """An action button body (signature and ``meta.timestamp`` checked before): the selected orders."""

    data = fields.Nested(ActionDataSchema, required=True)
