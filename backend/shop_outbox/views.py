"""Parked writes to the merchant's shops: see them, send them again or give them up (scope ``settings:write`` to change)."""

from __future__ import annotations

from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.extensions import db
from backend.shop_outbox import services
from backend.shop_outbox.blueprint import blp
from backend.shop_outbox.schemas import ParkedItemSchema, ParkedListSchema


@blp.route("/shop-outbox/parked", methods=["GET"])
@blp.response(200, ParkedListSchema)
@require_oauth()
def list_parked() -> dict[str, Any]:
    """The merchant's parked shop writes (at most 100), oldest parked first."""
    return {"items": services.parked_items(current_merchant_id())}


@blp.route(
    "/shop-outbox/parked/<string:outbox>/<int:item_id>/retry",
    methods=["POST"],
)
@blp.response(200, ParkedItemSchema)
@require_oauth("settings:write")
def retry_parked(outbox: str, item_id: int) -> Any:
    """Send a parked write again, with a fresh count of tries (409 while its connection is not active)."""
    item = services.retry_parked(
        outbox, item_id, merchant_id=current_merchant_id(), actor=f"client:{current_client_id()}"
    )
    db.session.commit()
    return item


@blp.route(
    "/shop-outbox/parked/<string:outbox>/<int:item_id>",
    methods=["DELETE"],
)
@blp.response(200, ParkedItemSchema)
@require_oauth("settings:write")
def discard_parked(outbox: str, item_id: int) -> Any:
    """Give a parked write up for good; the audit trail keeps what it was."""
    item = services.discard_parked(
        outbox, item_id, merchant_id=current_merchant_id(), actor=f"client:{current_client_id()}"
    )
    db.session.commit()
    return item
