"""Merchant endpoints: parse, call a service, dump."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, current_scopes, require_oauth
from backend.extensions import db
from backend.merchants import services
from backend.merchants.blueprint import blp
from backend.merchants.models import ShopConnection
from backend.merchants.schemas import (
    ConnectionCreateSchema,
    ConnectionSchema,
    ConnectionUpdateSchema,
    MerchantSchema,
    PaymentMethodSchema,
)
from backend.woocommerce.services import CONNECTION_STEPS, connection_problems, webhook_health


@dataclass(frozen=True)
class ShownConnection:
    """A connection with the health the shop protocols report (webhooks, problems), as ``ConnectionSchema`` dumps it."""

    connection: ShopConnection
    webhooks: list[dict[str, Any]]
    problems: list[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


def _shown(connection: ShopConnection) -> ShownConnection:
    return ShownConnection(
        connection,
        webhooks=webhook_health(connection) if connection.platform == "woocommerce" else [],
        problems=connection_problems(connection),
    )


@blp.route("/merchant", methods=["GET"])
@blp.response(200, MerchantSchema)
@require_oauth()
def get_merchant() -> dict[str, Any]:
    """The merchant the token acts for and the token's scopes (any scope may read this)."""
    merchant = services.get_merchant(current_merchant_id())
    return {
        "id": merchant.id,
        "name": merchant.name,
        "created_at": merchant.created_at,
        "scopes": current_scopes(),
    }


@blp.route("/connections", methods=["GET"])
@blp.response(200, ConnectionSchema(many=True))
@require_oauth()
def list_connections() -> list[ShownConnection]:
    """The merchant's shop connections (credentials are never shown)."""
    return [_shown(connection) for connection in services.list_connections(current_merchant_id())]


@blp.route("/connections/<int:connection_id>", methods=["GET"])
@blp.response(200, ConnectionSchema)
@require_oauth()
def get_connection(connection_id: int) -> ShownConnection:
    """One shop connection of the merchant."""
    return _shown(services.get_connection(current_merchant_id(), connection_id))


@blp.route("/connections", methods=["POST"])
@blp.arguments(ConnectionCreateSchema)
@blp.response(201, ConnectionSchema)
@require_oauth("settings:write")
def create_connection(payload: dict[str, Any]) -> ShownConnection:
    """Connect a shop: the credentials are tried against it first, then stored encrypted, never shown again.

    Wrong credentials or an unsafe/unrecognised URL answer 422; a shop that cannot be reached answers 502
    (``shop_unreachable``). WooCommerce shops get order webhooks pointing at this backend.
    """
    connection = services.create_connection(
        current_merchant_id(),
        platform=payload["platform"],
        shop_url=payload["shop_url"],
        credentials=payload["credentials"],
        name=payload["name"],
        actor=f"client:{current_client_id()}",
        steps=CONNECTION_STEPS,
        checkpoint=db.session.commit,
    )
    db.session.commit()
    return _shown(connection)


@blp.route("/connections/<int:connection_id>", methods=["PATCH"])
@blp.arguments(ConnectionUpdateSchema)
@blp.response(200, ConnectionSchema)
@require_oauth("settings:write")
def update_connection(payload: dict[str, Any], connection_id: int) -> ShownConnection:
    """Change a connection's shop URL, credentials, name or invoice methods, keeping its receivables.

    A new URL or key pair is tried against the shop first (422 when refused, 502 when unreachable); a
    WooCommerce shop then gets its webhooks re-registered. A disabled connection is reconnected by sending new
    credentials.
    """
    connection = services.update_connection(
        current_merchant_id(),
        connection_id,
        shop_url=payload.get("shop_url"),
        credentials=payload.get("credentials"),
        name=payload.get("name"),
        actor=f"client:{current_client_id()}",
        steps=CONNECTION_STEPS,
        checkpoint=db.session.commit,
    )
    db.session.commit()
    return _shown(connection)


@blp.route("/connections/<int:connection_id>/payment-methods", methods=["GET"])
@blp.response(200, PaymentMethodSchema(many=True))
@require_oauth()
def list_payment_methods(connection_id: int) -> list[dict[str, Any]]:
    """The payment gateways the shop offers, marked as counted as invoice or not (WooCommerce)."""
    return services.shop_payment_methods(current_merchant_id(), connection_id)


@blp.route("/connections/<int:connection_id>", methods=["DELETE"])
@blp.response(204)
@require_oauth("settings:write")
def delete_connection(connection_id: int) -> None:
    """Disable a shop connection: its webhooks leave the shop, its credentials are dropped, receivables stay."""
    services.disable_connection(
        current_merchant_id(), connection_id, actor=f"client:{current_client_id()}", steps=CONNECTION_STEPS
    )
    db.session.commit()
