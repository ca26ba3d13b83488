"""Marshmallow schemas of the payments area (money as decimal strings, dates as ISO days)."""

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from backend.payments.models import MATCH_STATUSES


def _money() -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2)


class ImportResultSchema(Schema):
    new = fields.Integer(metadata={"description": "incoming transfers not seen before"})
    already_known = fields.Integer(metadata={"description": "incoming transfers imported earlier; unchanged"})
    applied = fields.Integer(metadata={"description": "new transfers applied to receivables automatically"})
    review = fields.Integer(metadata={"description": "new transfers waiting for a person's decision"})
    unmatched = fields.Integer(metadata={"description": "new transfers no open receivable fits"})
    not_incoming = fields.Integer(metadata={"description": "debits, returns and unbooked entries, ignored"})


class MatchListArgsSchema(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(MATCH_STATUSES))


class MatchDecisionSchema(Schema):
    by = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MatchTransactionSchema(Schema):
    id = fields.Integer()
    booking_date = fields.Date()
    value_date = fields.Date(allow_none=True)
    amount = _money()
    currency = fields.String()
    counterparty_name = fields.String()
    counterparty_iban = fields.String()
    remittance = fields.String()
    status = fields.String()


class MatchReceivableSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    payment_reference = fields.String(allow_none=True)
    state = fields.String()
    total_amount = _money()
    balance = _money()


class PaymentMatchSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    amount = _money()
    rule = fields.String()
    confidence = fields.Float()
    explanation = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    transaction = fields.Nested(MatchTransactionSchema)
    receivable = fields.Nested(MatchReceivableSchema)


class MatchingSettingsSchema(Schema):
    auto_threshold = fields.Float(required=True, validate=validate.Range(min=0.5, max=1.0))


class StatementUploadSchema(Schema):
    """The statement file, sent as multipart/form-data field ``file``."""

    file = Upload(required=True, metadata={"description": "camt.053 (XML) or MT940 statement, up to 20 MiB"})
