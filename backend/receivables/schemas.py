"""Marshmallow schemas of the receivables area (money as decimal strings, dates as ISO days)."""

from marshmallow import Schema, fields, validate

from backend.receivables.services import AGING_BUCKETS, RESOLVED_STATES
from backend.receivables.states import STATES
from backend.schemas import PageArgsSchema, per_page_field

MAX_PER_PAGE = 100


def _money(**kwargs: object) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, **kwargs)  # type: ignore[arg-type]


class ReceivableListArgsSchema(PageArgsSchema):
    state = fields.List(
        fields.String(validate=validate.OneOf(STATES)),
        load_default=list,
        metadata={"description": "repeat or comma-separate to match several states"},
    )
    overdue = fields.Boolean(load_default=None, allow_none=True)
    aging = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(AGING_BUCKETS)))
    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    per_page = per_page_field(20, MAX_PER_PAGE)


class ReceivableOverviewSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    payment_reference = fields.String(
        allow_none=True, metadata={"description": "what the buyer quotes in the transfer, e.g. CB-7K4Q-2"}
    )
    external_id = fields.String()
    connection_id = fields.Integer()
    state = fields.String()
    platform_state = fields.String(allow_none=True)
    currency = fields.String()
    total_amount = _money()
    paid_amount = _money()
    credited_amount = _money()
    balance = _money()
    debtor_kind = fields.String()
    invoice_date = fields.Date()
    due_date = fields.Date()
    days_past_due = fields.Integer()
    dunning_level = fields.Integer()
    dunning_stopped_at = fields.DateTime(allow_none=True)
    dunning_stop_reason = fields.String(allow_none=True)
    disputed_at = fields.DateTime(allow_none=True)
    dispute_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReceivableOverviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReceivableOverviewSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ReceivableEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    actor = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()


class DunningNoticeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    level = fields.Integer()
    channel = fields.String()
    status = fields.String()
    fee = _money()
    queued_on = fields.Date()
    sent_on = fields.Date(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    deadline_on = fields.Date(allow_none=True)
    language = fields.String(allow_none=True)
    message_id = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)


class ReceivableDetailSchema(ReceivableOverviewSchema):
    buyer = fields.Dict()
    billing_address = fields.Dict()
    shipping_address = fields.Dict(allow_none=True)
    line_items = fields.List(fields.Dict())
    invoice_has_default_notice = fields.Boolean()
    events = fields.List(fields.Nested(ReceivableEventSchema))
    notices = fields.List(fields.Nested(DunningNoticeSchema))


class ClaimBreakdownArgsSchema(Schema):
    as_of = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "default: today (Berlin)"}
    )


class ClaimInterestSegmentSchema(Schema):
    first_day = fields.Date()
    last_day = fields.Date()
    days = fields.Integer()
    principal = _money()
    base_rate = fields.Decimal(as_string=True)
    points = fields.Decimal(as_string=True)
    rate = fields.Decimal(as_string=True)
    amount = _money()


class ClaimFeeLineSchema(Schema):
    notice_kind = fields.String()
    sent_on = fields.Date()
    stated = _money()
    charged = _money()
    reason = fields.String()


class ClaimPaymentAllocationSchema(Schema):
    booked_on = fields.Date()
    amount = _money()
    to_costs = _money()
    to_interest = _money()
    to_principal = _money()
    to_overpayment = _money()


class ClaimBreakdownSchema(Schema):
    """The claim on ``as_of`` as ``backend.dunning.claims.claim_breakdown`` computes it."""

    receivable_id = fields.Integer()
    as_of = fields.Date()
    currency = fields.String()
    debtor_kind = fields.String()
    principal = _money()
    credits = _money()
    refunds = _money()
    payments = fields.List(fields.Nested(ClaimPaymentAllocationSchema))
    payments_total = _money()
    fees = fields.List(fields.Nested(ClaimFeeLineSchema))
    dunning_fees = _money()
    flat_fee = _money()
    interest_segments = fields.List(fields.Nested(ClaimInterestSegmentSchema))
    interest = _money()
    principal_outstanding = _money()
    costs_outstanding = _money()
    interest_outstanding = _money()
    total_outstanding = _money()
    overpaid = _money()
    balance = _money()
    default_start = fields.Date(allow_none=True)
    first_dunning_notice_on = fields.Date(allow_none=True)
    limitation_date = fields.Date(metadata={"description": "last day before the claim is time-barred"})
    time_barred = fields.Boolean(metadata={"description": "no default, interest or fees while barred"})
    interest_unpaid_from = fields.Date(
        allow_none=True,
        metadata={"description": "first day without interest because its base rate is not known yet"},
    )
    days_overdue = fields.Integer()


class ReceivableDisputeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReceivableResolveDisputeSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=1000))
    state = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([state.value for state in RESOLVED_STATES]),
        metadata={"description": "default: what the amounts give (open, partially_paid or paid)"},
    )
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReceivableDunningStopSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReceivableActorArgsSchema(Schema):
    by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
