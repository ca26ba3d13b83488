"""Order push endpoint: parse, call a service, dump."""

from __future__ import annotations

from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.extensions import db
from backend.orders import services
from backend.orders.blueprint import blp
from backend.orders.schemas import OrderPushSchema, PushedReceivableSchema
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
