"""Handover endpoints: parse, call a service, dump."""

from __future__ import annotations

from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.extensions import db
from backend.handovers import decisions, proposals, rules
from backend.handovers.blueprint import blp
from backend.handovers.models import Handover
from backend.handovers.readiness import handover_blockers
from backend.handovers.schemas import (
    BulkDecisionSchema,
    DecidedSchema,
    DecisionSchema,
    HandoverDetailSchema,
    HandoverListArgsSchema,
    HandoverPageSchema,
    HandoverRulesResponseSchema,
    HandoverRulesSchema,
    HandoverSchema,
    HandoverSummarySchema,
    ReadinessSchema,
)
from backend.receivables.services import get_receivable


def _actor(by: str | None) -> str:
    client = f"client:{current_client_id()}"
    return f"{client} ({by})" if by else client


def _fields(handover: Handover) -> dict[str, Any]:
    data = {column.key: getattr(handover, column.key) for column in Handover.__table__.columns}
    data["order_number"] = handover.receivable.number
    data["buyer_name"] = decisions.buyer_name(handover.receivable)
    return data


def _detail(handover: Handover) -> dict[str, Any]:
    data = _fields(handover)
    data["status_history"] = decisions.status_history(handover.id)
    data["payments"] = decisions.payments_of(handover.id)
    return data


@blp.route("/handovers", methods=["GET"])
@blp.arguments(HandoverListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, HandoverPageSchema)
@require_oauth("handovers:read")
def list_handovers(status: str | None, page: int, per_page: int) -> dict[str, Any]:
    """The merchant's handovers, newest first, optionally of one status."""
    rows, total = decisions.list_handovers(current_merchant_id(), status=status, page=page, per_page=per_page)
    return {"items": [_fields(row) for row in rows], "total": total, "page": page, "per_page": per_page}


@blp.route("/handovers/summary", methods=["GET"])
@blp.response(200, HandoverSummarySchema)
@require_oauth("handovers:read")
def summary() -> dict[str, Any]:
    """How many handovers wait for a decision, and counts by status (for the shop plugins)."""
    return proposals.handover_summary(current_merchant_id())


@blp.route("/handovers/<int:handover_id>", methods=["GET"])
@blp.response(200, HandoverDetailSchema)
@require_oauth("handovers:read")
def get_handover(handover_id: int) -> dict[str, Any]:
    """One handover with its frozen claim, the agency status history and payments."""
    return _detail(decisions.get_handover(current_merchant_id(), handover_id))


def _decide_one(handover_id: int, decision: str, body: dict[str, Any]) -> dict[str, Any]:
    handover = decisions.decide_handover(
        current_merchant_id(), handover_id, decision, actor=_actor(body["by"]), note=body["note"]
    )
    db.session.commit()
    return _detail(handover)


@blp.route("/handovers/<int:handover_id>/approve", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, HandoverDetailSchema)
@require_oauth("handovers:write")
def approve(body: dict[str, Any], handover_id: int) -> dict[str, Any]:
    """Approve a proposal: the worker hands it to the agency."""
    return _decide_one(handover_id, "approve", body)


@blp.route("/handovers/<int:handover_id>/reject", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, HandoverDetailSchema)
@require_oauth("handovers:write")
def reject(body: dict[str, Any], handover_id: int) -> dict[str, Any]:
    """Reject a proposal; it is not proposed again automatically."""
    return _decide_one(handover_id, "reject", body)


@blp.route("/handovers/<int:handover_id>/withdraw", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, HandoverDetailSchema)
@require_oauth("handovers:write")
def withdraw(body: dict[str, Any], handover_id: int) -> dict[str, Any]:
    """Take a handover back; a submitted case is withdrawn at the agency first (409 if it refuses)."""
    handover = decisions.withdraw_handover(
        current_merchant_id(), handover_id, actor=_actor(body["by"]), note=body["note"]
    )
    db.session.commit()
    return _detail(handover)


@blp.route("/handovers/approve", methods=["POST"])
@blp.arguments(BulkDecisionSchema)
@blp.response(200, DecidedSchema)
@require_oauth("handovers:write")
def approve_many(body: dict[str, Any]) -> dict[str, Any]:
    """Approve several proposals at once: all or none."""
    decided = decisions.decide_many(
        current_merchant_id(), "approve", body["ids"], actor=_actor(body["by"]), note=body["note"]
    )
    db.session.commit()
    return {"items": [_fields(handover) for handover in decided]}


@blp.route("/receivables/<int:receivable_id>/handover-readiness", methods=["GET"])
@blp.response(200, ReadinessSchema)
@require_oauth("handovers:read")
def readiness(receivable_id: int) -> dict[str, Any]:
    """Whether the receivable may be proposed for handover, and every condition it does not meet yet."""
    receivable = get_receivable(current_merchant_id(), receivable_id)
    blockers = handover_blockers(receivable)
    return {"receivable_id": receivable.id, "ready": not blockers, "blockers": blockers}


@blp.route("/receivables/<int:receivable_id>/handover-proposal", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(201, HandoverSchema)
@require_oauth("handovers:write")
def propose(body: dict[str, Any], receivable_id: int) -> dict[str, Any]:
    """Propose this receivable for handover now (the shop's order action); 409 lists what it still lacks."""
    receivable = get_receivable(current_merchant_id(), receivable_id)
    handover = proposals.propose_handover(receivable, actor=_actor(body["by"]))
    db.session.commit()
    return _fields(handover)


@blp.route("/handover-rules", methods=["GET"])
@blp.response(200, HandoverRulesResponseSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_rules() -> dict[str, Any]:
    """The merchant's handover rules: minimum, auto-approval limits, agency (its key is never shown)."""
    return rules.rules_document(current_merchant_id())


@blp.route("/handover-rules", methods=["PUT"])
@blp.arguments(HandoverRulesSchema)
@blp.response(200, HandoverRulesResponseSchema)
@require_oauth("settings:write")
def put_rules(body: dict[str, Any]) -> dict[str, Any]:
    """Replace the handover rules; the agency API key is stored encrypted."""
    document = rules.update_rules(current_merchant_id(), body, actor=_actor(None))
    db.session.commit()
    return document
