"""Merchant endpoints: parse, call a service, dump."""

from __future__ import annotations

from backend.auth.server import current_merchant_id, require_oauth
from backend.merchants import services
from backend.merchants.blueprint import blp
from backend.merchants.models import Merchant, ShopConnection
from backend.merchants.schemas import ConnectionSchema, MerchantSchema


@blp.route("/merchant", methods=["GET"])
@blp.response(200, MerchantSchema)
@require_oauth()
def get_merchant() -> Merchant:
    """The merchant the token acts for, with its settings."""
    return services.get_merchant(current_merchant_id())


@blp.route("/connections", methods=["GET"])
@blp.response(200, ConnectionSchema(many=True))
@require_oauth()
def list_connections() -> list[ShopConnection]:
    """The merchant's shop connections (credentials are never shown)."""
    return services.list_connections(current_merchant_id())


@blp.route("/connections/<int:connection_id>", methods=["GET"])
@blp.response(200, ConnectionSchema)
@require_oauth()
def get_connection(connection_id: int) -> ShopConnection:
    """One shop connection of the merchant."""
    return services.get_connection(current_merchant_id(), connection_id)
