"""Receivable endpoints: parse, call a service, dump."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from backend.auth.server import current_merchant_id, require_oauth
from backend.dates import berlin_today
from backend.dunning.receivable_claims import claim_on, notices_of
from backend.dunning.views import actor_for
from backend.extensions import db
from backend.receivables import services
from backend.receivables.blueprint import blp
from backend.receivables.models import Receivable
from backend.receivables.payment_references import assign_payment_reference
from backend.receivables.schemas import (
    ClaimBreakdownArgsSchema,
    ClaimBreakdownSchema,
    ReceivableActorArgsSchema,
    ReceivableDetailSchema,
    ReceivableDisputeSchema,
    ReceivableDunningStopSchema,
    ReceivableListArgsSchema,
    ReceivableOverviewPageSchema,
    ReceivableOverviewSchema,
    ReceivableResolveDisputeSchema,
)

_summary = ReceivableOverviewSchema()
_detail = ReceivableDetailSchema()
_page = ReceivableOverviewPageSchema()


def _fields(receivable: Receivable) -> dict[str, Any]:
    """Return the receivable's attributes plus its days past due (Berlin calendar days)."""
    assign_payment_reference(receivable)  # rows older than payment references get theirs on first sight
    data = {name: getattr(receivable, name) for name in _summary.fields if hasattr(receivable, name)}
    data["days_past_due"] = max(0, (berlin_today() - receivable.due_date).days)
    return data


def _detail_body(receivable: Receivable) -> dict[str, Any]:
    data = _fields(receivable)
    for name in ("buyer", "billing_address", "shipping_address", "line_items", "invoice_has_default_notice"):
        data[name] = getattr(receivable, name)
    data["events"] = services.events_of(receivable.id)
    data["notices"] = notices_of(receivable.id)
    return _detail.dump(data)


@blp.route("/receivables", methods=["GET"])
@blp.arguments(ReceivableListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ReceivableOverviewPageSchema, headers={"X-Total-Count": {"schema": {"type": "integer"}}})
@require_oauth("handovers:read")
def list_receivables(**args: Any) -> Response:
    """The merchant's receivables, filtered by state, overdue, aging bucket or number, one page at a time."""
    query = services.ReceivableQuery(
        states=tuple(args["state"]),
        overdue=args["overdue"],
        aging=args["aging"],
        number=args["number"],
        page=args["page"],
        per_page=args["per_page"],
    )
    rows, total = services.list_receivables(current_merchant_id(), query, berlin_today())
    body = {
        "items": [_fields(row) for row in rows],
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
    }
    db.session.commit()
    response = jsonify(_page.dump(body))
    response.headers["X-Total-Count"] = str(total)
    return response


@blp.route("/receivables/<int:receivable_id>", methods=["GET"])
@blp.response(200, ReceivableDetailSchema)
@require_oauth("handovers:read")
def get_receivable(receivable_id: int) -> Response:
    """One receivable with buyer, lines, its history and every dunning notice."""
    body = _detail_body(services.get_receivable(current_merchant_id(), receivable_id))
    db.session.commit()
    return jsonify(body)


@blp.route("/receivables/<int:receivable_id>/claim", methods=["GET"])
@blp.arguments(ClaimBreakdownArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ClaimBreakdownSchema)
@require_oauth("handovers:read")
def get_claim(receivable_id: int, as_of: Any) -> dict[str, Any]:
    """What the debtor owes on ``as_of``: principal, fees, interest by base-rate segment, payments."""
    receivable = services.get_receivable(current_merchant_id(), receivable_id)
    breakdown = claim_on(receivable, as_of or berlin_today())
    body = {
        name: getattr(breakdown, name) for name in ClaimBreakdownSchema().fields if hasattr(breakdown, name)
    }
    body["receivable_id"] = receivable.id
    return body


@blp.route("/receivables/<int:receivable_id>/dispute", methods=["POST"])
@blp.arguments(ReceivableDisputeSchema)
@blp.response(200, ReceivableDetailSchema)
@require_oauth("handovers:write")
def dispute(body: dict[str, Any], receivable_id: int) -> Response:
    """The buyer contests the claim: dunning stops at once until the dispute is resolved."""
    receivable = services.dispute_receivable(
        current_merchant_id(), receivable_id, reason=body["reason"], actor=actor_for(body["by"])
    )
    db.session.commit()
    return jsonify(_detail_body(receivable))


@blp.route("/receivables/<int:receivable_id>/resolve-dispute", methods=["POST"])
@blp.arguments(ReceivableResolveDisputeSchema)
@blp.response(200, ReceivableDetailSchema)
@require_oauth("handovers:write")
def resolve_dispute(body: dict[str, Any], receivable_id: int) -> Response:
    """End the dispute; dunning resumes where it stopped if money is still owed."""
    receivable = services.resolve_dispute(
        current_merchant_id(),
        receivable_id,
        note=body["note"],
        state=body["state"],
        actor=actor_for(body["by"]),
    )
    db.session.commit()
    return jsonify(_detail_body(receivable))


@blp.route("/receivables/<int:receivable_id>/dunning-stop", methods=["POST"])
@blp.arguments(ReceivableDunningStopSchema)
@blp.response(200, ReceivableDetailSchema)
@require_oauth("handovers:write")
def stop_dunning(body: dict[str, Any], receivable_id: int) -> Response:
    """Stop dunning this order (queued notices are cancelled instead of sent)."""
    receivable = services.stop_dunning(
        current_merchant_id(), receivable_id, reason=body["reason"], actor=actor_for(body["by"])
    )
    db.session.commit()
    return jsonify(_detail_body(receivable))


@blp.route("/receivables/<int:receivable_id>/dunning-stop", methods=["DELETE"])
@blp.arguments(ReceivableActorArgsSchema, location="query")
@blp.response(200, ReceivableDetailSchema)
@require_oauth("handovers:write")
def resume_dunning(args: dict[str, Any], receivable_id: int) -> Response:
    """Lift this order's dunning stop."""
    receivable = services.resume_dunning(current_merchant_id(), receivable_id, actor=actor_for(args["by"]))
    db.session.commit()
    return jsonify(_detail_body(receivable))
