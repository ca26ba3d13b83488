"""Merchants and their shop connections."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.errors import AppError, ConflictError, NotFoundError, UserValueError
from backend.extensions import db
from backend.merchants.connectors import CREDENTIAL_FIELDS, build_connector, store_credentials
from backend.merchants.errors import ShopUnreachableError
from backend.merchants.models import Merchant, ShopConnection
from backend.orders.models import OrderSyncRequest
from backend.woocommerce.services import forget_webhooks, register_webhooks
from connectors import errors as shop_errors
from connectors.ssrf import validate_public_url

logger = logging.getLogger(__name__)

T = TypeVar("T")
SHOP_PLATFORMS = tuple(CREDENTIAL_FIELDS)
VERIFY_TIMEOUT = (5.0, 20.0)


def create_merchant(name: str, *, actor: str = "operator") -> Merchant:
    """Create a merchant (tenant)."""
    name = name.strip()
    if not name:
        raise UserValueError("a merchant needs a name", details={"name": ["must not be empty"]})
    merchant = Merchant(name=name, settings={})
    db.session.add(merchant)
    db.session.flush()
    record_event(
        "merchant.created",
        actor=actor,
        merchant_id=merchant.id,
        target_type="merchant",
        target_id=merchant.id,
    )
    logger.info("merchant %s created: %s", merchant.id, name)
    return merchant


def get_merchant(merchant_id: int) -> Merchant:
    """Return a merchant or raise NotFoundError."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFoundError(f"merchant {merchant_id} does not exist")
    return merchant


def list_merchants() -> list[Merchant]:
    """Return every merchant, oldest first."""
    return list(db.session.scalars(db.select(Merchant).order_by(Merchant.id)))


def list_connections(merchant_id: int) -> list[ShopConnection]:
    """Return the merchant's shop connections."""
    query = db.select(ShopConnection).filter_by(merchant_id=merchant_id).order_by(ShopConnection.id)
    return list(db.session.scalars(query))


def get_connection(merchant_id: int, connection_id: int) -> ShopConnection:
    """Return one of the merchant's connections; another merchant's is simply not found."""
    connection = db.session.scalar(
        db.select(ShopConnection).filter_by(id=connection_id, merchant_id=merchant_id)
    )
    if connection is None:
        raise NotFoundError(f"connection {connection_id} not found")
    return connection


def list_all_connections(merchant_id: int | None = None) -> list[ShopConnection]:
    """Return every merchant's connections (operator view), or one merchant's."""
    query = sa.select(ShopConnection).order_by(ShopConnection.id)
    if merchant_id is not None:
        query = query.filter_by(merchant_id=merchant_id)
    return list(db.session.scalars(query))


def _shop_says(error: shop_errors.ConnectorError) -> str:
    """Return the shop's own words about an error (WordPress ``message``, Shopware ``errors[].detail``)."""
    body = error.body
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("title") or "")
    return ""


def _call_shop(call: Callable[[], T], *, platform: str, shop_url: str, refused: str) -> T:
    """Run one call to a shop being connected, turning its failures into errors the merchant can act on.

    Wrong credentials, an unsafe URL or an address where no such shop answers are the merchant's input
    (422); a shop that cannot be reached or fails is a bad gateway (502, ``shop_unreachable``).
    """
    try:
        return call()
    except shop_errors.AuthError as error:
        said = _shop_says(error)
        raise UserValueError(
            f"{refused} (HTTP {error.status}{': ' + said if said else ''})",
            code="invalid_credentials",
            details={"/credentials": [refused]},
        ) from error
    except shop_errors.UnsafeURLError as error:
        raise UserValueError(
            f"The shop URL is not allowed: {error.message}",
            code="unsafe_url",
            details={"/shop_url": [error.message]},
        ) from error
    except (shop_errors.NotFoundError, shop_errors.ClientError) as error:
        message = (
            f"No {platform} API answered as expected at {shop_url} (HTTP {error.status}); check the shop URL."
        )
        raise UserValueError(message, code="shop_not_recognised", details={"/shop_url": [message]}) from error
    except shop_errors.ConnectorError as error:
        reason = "timeout" if isinstance(error, shop_errors.TimeoutError) else type(error).__name__
        raise ShopUnreachableError(
            f"The shop at {shop_url} could not be reached or failed ({reason}); nothing was saved. "
            "Check the URL and that the shop is online, then try again.",
            details={"reason": reason, "status": error.status},
        ) from error


def _checked_shop_url(shop_url: str) -> str:
    shop_url = shop_url.strip().rstrip("/")
    try:
        return validate_public_url(shop_url, current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"])
    except shop_errors.UnsafeURLError as error:
        raise UserValueError(
            f"The shop URL is not allowed: {error.message}",
            code="unsafe_url",
            details={"/shop_url": [error.message]},
        ) from error


def _checked_credentials(platform: str, credentials: Mapping[str, Any]) -> dict[str, str]:
    wanted = CREDENTIAL_FIELDS[platform]
    missing = {
        f"/credentials/{name}": ["required for this platform"]
        for name in wanted
        if not isinstance(credentials.get(name), str) or not credentials[name].strip()
    }
    if missing:
        raise UserValueError(f"{platform} connections need {' and '.join(wanted)}", details=missing)
    return {name: credentials[name].strip() for name in wanted}


def create_connection(
    merchant_id: int,
    *,
    platform: str,
    shop_url: str,
    credentials: Mapping[str, Any],
    name: str = "",
    actor: str,
) -> ShopConnection:
    """Verify a shop's credentials with a real call, then store the connection with them encrypted.

    WooCommerce connections also get their order webhooks registered in the shop, signed with a new
    per-connection secret. Nothing is stored unless every call succeeded (the caller commits).
    """
    get_merchant(merchant_id)
    if platform not in SHOP_PLATFORMS:
        raise UserValueError(
            f"platform must be one of {', '.join(SHOP_PLATFORMS)}",
            details={"/platform": ["unknown platform"]},
        )
    shop_url = _checked_shop_url(shop_url)
    secrets = _checked_credentials(platform, credentials)
    duplicate = db.session.scalar(
        sa.select(ShopConnection.id).filter_by(
            merchant_id=merchant_id, platform=platform, shop_url=shop_url, status="active"
        )
    )
    if duplicate is not None:
        raise ConflictError(
            f"connection {duplicate} already connects this shop; delete it first to connect it anew",
            details={"connection_id": duplicate},
        )
    shop = {"platform": platform, "shop_url": shop_url}
    # The merchant is waiting for the answer: one quick retry at most, not the worker's patience.
    connector = build_connector(platform, shop_url, secrets, timeout=VERIFY_TIMEOUT, max_retries=1)
    try:
        _call_shop(connector.verify, **shop, refused="The shop refused these credentials")
        connection = ShopConnection(
            merchant_id=merchant_id, platform=platform, name=name.strip(), shop_url=shop_url, status="active"
        )
        store_credentials(connection, secrets)
        db.session.add(connection)
        db.session.flush()
        if platform == "woocommerce":
            try:
                _call_shop(
                    lambda: register_webhooks(connection, connector),
                    **shop,
                    refused="The key may read orders but not create webhooks; give it Read/Write permission",
                )
            except AppError:
                # The row needed an id for the webhook URL; take it back so no caller can commit it.
                db.session.delete(connection)
                db.session.flush()
                raise
    finally:
        connector.close()
    record_event(
        "connection.created",
        actor=actor,
        merchant_id=merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
        details={"platform": platform, "shop_url": shop_url},
    )
    logger.info(
        "connection %s (%s %s) created for merchant %s", connection.id, platform, shop_url, merchant_id
    )
    return connection


def disable_connection(merchant_id: int, connection_id: int, *, actor: str) -> ShopConnection:
    """Disable a connection: its credentials and webhook secret are dropped, queued re-fetches cancelled.

    Receivables stay. The shop's webhooks are not deleted there; our endpoint answers them 404 and
    WooCommerce disables a webhook after five failed deliveries.
    """
    connection = get_connection(merchant_id, connection_id)
    if connection.status == "disabled":
        return connection
    connection.status = "disabled"
    connection.credentials_encrypted = None
    forget_webhooks(connection)
    db.session.execute(sa.delete(OrderSyncRequest).where(OrderSyncRequest.connection_id == connection.id))
    record_event(
        "connection.disabled",
        actor=actor,
        merchant_id=merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
    )
    logger.info("connection %s disabled by %s", connection.id, actor)
    return connection
