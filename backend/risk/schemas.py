"""Marshmallow schemas of the risk-check API.

Buyer data is accepted leniently (a malformed e-mail or phone is a risk signal with a warning, not a 422);
structure, types, sizes and amounts are strict.
"""

from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from backend.risk.models import OVERRIDE_MODES
from backend.schemas import UTCDateTimeField, country_code, money_amount

_text = {"load_default": None, "allow_none": True}


def _string(length: int, **options: object) -> fields.String:
    return fields.String(validate=validate.Length(max=length), **{**_text, **options})


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class BuyerSchema(_Lenient):
    email = _string(254)
    phone = _string(50)
    first_name = _string(100)
    last_name = _string(100)
    company = _string(200)
    date_of_birth = fields.Date(**_text)
    customer_id = _string(100)
    is_guest = fields.Boolean(load_default=True)
    registered_at = UTCDateTimeField(default_timezone=None, **_text)


class AddressSchema(_Lenient):
    first_name = _string(100)
    last_name = _string(100)
    company = _string(200)
    street = _string(200)
    house_number = _string(20)
    postal_code = _string(20)
    city = _string(100)
    country = country_code(required=True)


class ItemSchema(_Lenient):
    sku = _string(100)
    name = _string(300)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=0, max=100_000))
    unit_price = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(min=0))
    category = _string(100)


class RiskCheckRequestSchema(_Lenient):
    reference = _string(200)
    amount = fields.Decimal(required=True, validate=[validate.Range(min=0, max=10_000_000), money_amount])
    currency = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code like EUR.")
    )
    payment_methods = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=1, max=30),
    )
    selected_payment_method = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "the method the buyer has chosen; a credit bureau is asked only when it is invoice-like"
        },
    )
    buyer = fields.Nested(BuyerSchema, load_default=dict)
    billing_address = fields.Nested(AddressSchema, required=True)
    shipping_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    ip = fields.IP(load_default=None, allow_none=True)
    user_agent = _string(1000)
    items = fields.List(fields.Nested(ItemSchema), load_default=list, validate=validate.Length(max=500))


class ReasonSchema(Schema):
    code = fields.String()
    message = fields.String(metadata={"description": "what was observed"})
    advice = fields.String(metadata={"description": "what the buyer can do about it"})
    weight = fields.Integer()
    params = fields.Dict()


class WarningSchema(Schema):
    code = fields.String()
    field = fields.String(metadata={"description": "JSON pointer into the request"})
    message = fields.String()


class PaymentMethodsSchema(Schema):
    allowed = fields.List(fields.String())
    hidden = fields.List(fields.String())


class RiskCheckSchema(Schema):
    id = fields.String()
    reference = fields.String(allow_none=True)
    decision = fields.String(metadata={"enum": ["accept", "review", "decline"]})
    score = fields.Integer(metadata={"description": "0-100: the sum of the weights of the reasons, capped"})
    rule = fields.String()
    rule_message = fields.String()
    reasons = fields.List(fields.Nested(ReasonSchema))
    warnings = fields.List(fields.Nested(WarningSchema))
    payment_methods = fields.Nested(PaymentMethodsSchema)
    bureau = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


class PolicySchema(Schema):
    """The policy document; fields are validated by the policy itself (see GET /api/v1/policy)."""

    class Meta:
        unknown = INCLUDE

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Fields left out get their defaults, so an empty document would silently reset the whole policy.
        if not data:
            raise ValidationError("Send the policy fields to set; an empty document would reset every field.")


def _money(**options: Any) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, **options)


class PolicyDocumentSchema(Schema):
    """The policy as stored, every field filled in (``PUT`` takes the same fields)."""

    class _Bureau(Schema):
        enabled = fields.Boolean()
        min_amount = _money()
        score_type = fields.String()
        address_check_type = fields.String()
        cache_days = fields.Integer()
        min_score_value = fields.Integer(allow_none=True)

    class _BureauAccount(Schema):
        provider = fields.String()
        configured = fields.Boolean()
        mode = fields.String(allow_none=True)

    invoice_methods = fields.List(fields.String())
    review_at = fields.Integer()
    decline_at = fields.Integer()
    currency = fields.String()
    max_order_amount = _money()
    max_first_order_amount = _money()
    max_open_exposure = _money()
    weights = fields.Dict(keys=fields.String(), values=fields.Integer())
    review_mode = fields.String()
    fail_mode = fields.String()
    bureau_fail_max_amount = _money()
    bureau = fields.Nested(_Bureau)
    retention_days = fields.Integer()
    velocity = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        metadata={
            "description": "per identity kind: orders_24h, orders_30d, other_names_30d, other_addresses_30d"
        },
    )
    bureau_account = fields.Nested(_BureauAccount)
    buyer_message = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "by language (de, en): what shops tell a buyer who may not pay by invoice; "
            "empty for ClaimBridge's neutral text"
        },
    )


class CheckoutSettingsSchema(Schema):
    """The merchant's settings a shop's checkout shows (GET /api/v1/checkout-settings)."""

    payment_terms_days = fields.Integer(metadata={"description": "days from the order to its due date"})
    invoice_methods = fields.List(
        fields.String(),
        metadata={"description": "the policy's invoice-like payment methods (PUT /api/v1/policy)"},
    )
    invoice_unavailable_message = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "by language (de, en): what a buyer reads when invoice is not offered"},
    )


class BuyerOverrideRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = _string(254)
    phone = _string(50)
    billing_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    mode = fields.String(required=True, allow_none=True, validate=validate.OneOf(OVERRIDE_MODES))
    note = fields.String(load_default="", validate=validate.Length(max=1000))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BuyerOverrideSchema(Schema):
    id = fields.Integer()
    key_kind = fields.String()
    mode = fields.String()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
