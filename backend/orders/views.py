"""Order push endpoint: parse, call a service, dump."""

from __future__ import annotations

from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.boundary import body_limit
from backend.extensions import db
from backend.orders import services
from backend.orders.blueprint import blp
from backend.orders.schemas import (
    OrderBatchResultSchema,
    OrderBatchSchema,
    OrderPushSchema,
    PushedReceivableSchema,
)
from backend.receivables.models import Receivable


@blp.route("/orders/<string:external_id>", methods=["PUT"])
@blp.arguments(OrderPushSchema)
@blp.response(
    200, PushedReceivableSchema, description="The receivable existed and was updated (or unchanged)."
)
@blp.alt_response(201, schema=PushedReceivableSchema, description="The receivable was created.")
@require_oauth("orders:write")
def put_order(payload: dict[str, Any], external_id: str) -> tuple[Receivable, int]:
    """Create or update the receivable of an invoice order by its id in the pushing system (idempotent)."""
    client_id = current_client_id()
    result = services.push_order(
        current_merchant_id(), external_id, payload, client_id=client_id, actor=f"client:{client_id}"
    )
    db.session.commit()
    return result.receivable, 201 if result.created else 200


# 500 orders with addresses and a few line items each stay well below this.
ORDER_BATCH_MAX_BYTES = 4 * 1024 * 1024


@blp.route("/orders/batch", methods=["POST"])
@blp.arguments(OrderBatchSchema)
@blp.response(200, OrderBatchResultSchema)
@require_oauth("orders:write")
@body_limit(ORDER_BATCH_MAX_BYTES)
def post_order_batch(body: dict[str, Any]) -> dict[str, Any]:
    """Create or update up to 500 orders at once, each as ``PUT /orders/{external_id}`` would (idempotent).

    All or nothing: one invalid order makes the whole batch a 422 whose details name it by its index.
    """
    client_id = current_client_id()
    outcomes = services.push_orders(
        current_merchant_id(), body["orders"], client_id=client_id, actor=f"client:{client_id}"
    )
    db.session.commit()
    results = [
        {"external_id": order["external_id"], "outcome": outcome, "id": receivable_id}
        for order, (outcome, receivable_id) in zip(body["orders"], outcomes, strict=True)
    ]
    counts = {
        name: sum(1 for result in results if result["outcome"] == name)
        for name in ("created", "updated", "unchanged")
    }
    return {**counts, "results": results}
