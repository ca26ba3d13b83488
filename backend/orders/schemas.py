"""Marshmallow schemas of the orders area: the pushed order (API and CSV import) and the receivable."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backend.dates import BERLIN
from backend.receivables.states import SHOP_STATES
from backend.schemas import UTCDateTimeField, business_day, country_code

_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,2})?")
PUSH_STATES = tuple(sorted(state.value for state in SHOP_STATES))


class Amount(fields.Field):
    """A non-negative amount as a decimal string ("119.00"), never a JSON number (it may have been a float)."""

    default_error_messages = {"invalid": 'Not an amount: send a decimal string with a dot, such as "119.00".'}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
            raise self.make_error("invalid")
        return Decimal(value.strip())

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value:.2f}"


def _text(max_length: int, **options: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **options)


class PushAddressSchema(Schema):
    first_name = _text(100, load_default=None)
    last_name = _text(100, load_default=None)
    company = _text(200, load_default=None)
    street = _text(200, load_default=None)
    house_number = _text(20, load_default=None)
    postal_code = _text(20, load_default=None)
    city = _text(100, load_default=None)
    country = country_code(required=True)

    @post_load
    def _upper_country(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return upper_country(data)


def upper_country(address: dict[str, Any]) -> dict[str, Any]:
    """Return a loaded address with its country code in capitals."""
    return {**address, "country": address["country"].upper()}


def order_consistency_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """Return what contradicts itself in a loaded order (dates, paid amount and state), by field."""
    errors: dict[str, list[str]] = {}
    total, paid = data["total"], data["paid_amount"]
    invoice_day = data["invoice_date"] or data["ordered_at"].astimezone(BERLIN).date()
    if data["due_date"] and data["due_date"] < invoice_day:
        errors["due_date"] = ["Must not be before the invoice date."]
    if paid is not None and paid > total:
        errors["paid_amount"] = ["Must not exceed the total."]
    if data["state"] == "partially_paid" and (paid is None or not 0 < paid < total):
        errors["paid_amount"] = ["A partially paid order needs a paid amount between 0 and the total."]
    return errors


def upper_currency(data: dict[str, Any]) -> dict[str, Any]:
    """Return a loaded order with its currency code in capitals."""
    return {**data, "currency": data["currency"].upper()}


class PushBuyerSchema(Schema):
    email = fields.Email(load_default=None)
    first_name = _text(100, load_default=None)
    last_name = _text(100, load_default=None)
    company = _text(200, load_default=None)
    phone = _text(50, load_default=None)
    customer_id = _text(100, load_default=None)
    is_guest = fields.Boolean(load_default=False)


class PushLineItemSchema(Schema):
    external_id = _text(100, load_default=None)
    name = _text(500, required=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    unit_price = Amount(required=True)
    total = Amount(required=True)
    sku = _text(100, load_default=None)


class OrderPushSchema(Schema):
    """An invoice order pushed by a shop without plugin or an accounting system (also one CSV row)."""

    number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    total = Amount(required=True, validate=validate.Range(min=Decimal("0.01")))
    currency = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z]{3}$", error="Three-letter ISO 4217 currency code."),
    )
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=100))
    ordered_at = UTCDateTimeField(required=True, default_timezone=UTC, validate=business_day)
    invoice_date = fields.Date(load_default=None, validate=business_day)
    due_date = fields.Date(load_default=None, validate=business_day)
    paid_amount = Amount(load_default=None)
    state = fields.String(load_default="open", validate=validate.OneOf(PUSH_STATES))
    buyer = fields.Nested(PushBuyerSchema, required=True)
    billing_address = fields.Nested(PushAddressSchema, required=True)
    shipping_address = fields.Nested(PushAddressSchema, load_default=None, allow_none=True)
    items = fields.List(fields.Nested(PushLineItemSchema), load_default=list)
    risk_check_id = _text(64, load_default=None)
    debtor_kind = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["consumer", "business"]),
        metadata={
            "description": "consumer (§13 BGB) or business (§14 BGB); left out: business only with a VAT id "
            "or the merchant's B2B setting, else consumer"
        },
    )
    vat_id = _text(20, load_default=None)
    invoice_has_default_notice = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the invoice told the buyer that default follows 30 days after due date "
            "(§286(3) BGB); left out: the merchant's claim setting"
        },
    )
    shipped_at = UTCDateTimeField(
        load_default=None, allow_none=True, default_timezone=UTC, validate=business_day
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if errors := order_consistency_errors(data):
            raise ValidationError(errors)

    @post_load
    def _upper_currency(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return upper_currency(data)


class PushedReceivableSchema(Schema):
    """A receivable as the API shows it; amounts are decimal strings."""

    id = fields.Integer()
    connection_id = fields.Integer()
    external_id = fields.String()
    number = fields.String()
    state = fields.String()
    currency = fields.String()
    total = Amount(attribute="total_amount")
    paid_amount = Amount()
    credited_amount = Amount()
    balance = Amount()
    payment_method = fields.String(allow_none=True)
    ordered_at = fields.DateTime()
    invoice_date = fields.Date()
    due_date = fields.Date()
    paid_at = fields.DateTime(allow_none=True)
    debtor_kind = fields.String()
    invoice_has_default_notice = fields.Boolean()
    risk_check_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ORDER_BATCH_MAX = 500  # orders per batch request: a few hundred KiB of JSON, one set of statements


class OrderBatchItemSchema(OrderPushSchema):
    """One order of a batch: the push body plus its id in the pushing system."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class OrderBatchSchema(Schema):
    """Up to 500 orders to create or update at once (each as ``PUT /orders/{external_id}`` would)."""

    orders = fields.List(
        fields.Nested(OrderBatchItemSchema),
        required=True,
        validate=validate.Length(min=1, max=ORDER_BATCH_MAX),
    )

    @validates_schema
    def _unique_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        first: dict[str, int] = {}
        errors: dict[int, dict[str, list[str]]] = {}
        for index, order in enumerate(data["orders"]):
            external_id = order["external_id"]
            if external_id in first:
                errors[index] = {"external_id": [f"Also the id of order {first[external_id]} of this batch."]}
            first.setdefault(external_id, index)
        if errors:
            raise ValidationError({"orders": errors})


class OrderBatchOutcomeSchema(Schema):
    """What the batch did with one order, in request order."""

    external_id = fields.String(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(["created", "updated", "unchanged"]),
        metadata={"description": "created, updated (something changed) or unchanged"},
    )
    id = fields.Integer(required=True, metadata={"description": "the receivable's id"})


class OrderBatchResultSchema(Schema):
    """Per-order results of a batch (all or nothing: a batch with any invalid order is a 422 storing none)."""

    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    results = fields.List(fields.Nested(OrderBatchOutcomeSchema), required=True)
