"""Build the shop connector of a connection from its encrypted credentials (the one place that does)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.crypto import decrypt_text, encrypt_text
from backend.errors import UserValueError
from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.merchants.policy_store import get_policy
from connectors.errors import ConnectorError
from connectors.http import Backoff
from connectors.shops.base import ShopConnector
from connectors.shops.shopware import ShopwareConnector
from connectors.shops.woocommerce import WooCommerceConnector

logger = logging.getLogger(__name__)

# The worker retries a failed write or submission on its own schedule; its clients only ride out short blips,
# and a Retry-After longer than a few seconds goes back to that schedule instead of blocking the worker.
WORKER_RETRIES = 2
WORKER_BACKOFF = Backoff(base=0.2, cap=2.0, max_retry_after=5.0)

# Why the shop outboxes park what waits for a connection that is not active (``backend.outbox.park_where``).
INACTIVE_CONNECTION = (
    "the shop connection is not active (disabled or removed); retry once it is connected again"
)

CREDENTIAL_FIELDS = {
    "shopware": ("api_key", "secret_key"),
    "woocommerce": ("consumer_key", "consumer_secret"),
}


def inactive_connection_ids() -> sa.Select[tuple[int]]:
    """Return the statement selecting the connections no shop write may go to (any not active)."""
    return sa.select(ShopConnection.id).where(ShopConnection.status != "active")


def for_each_active_connection(
    platforms: Iterable[str], work: Callable[[ShopConnection], object], *, doing: str
) -> tuple[int, int]:
    """Run ``work`` on each active connection of ``platforms``, committing after each; return (done, failed).

    A failing shop is rolled back and logged (``doing`` names the work) and does not stop the others, nor does
    any other failure of one connection (e.g. credentials no configured key decrypts).
    """
    connection_ids = db.session.scalars(
        sa.select(ShopConnection.id)
        .where(ShopConnection.status == "active", ShopConnection.platform.in_(sorted(platforms)))
        .order_by(ShopConnection.id)
    ).all()
    failures = 0
    for connection_id in connection_ids:
        try:
            work(db.session.get(ShopConnection, connection_id))
            db.session.commit()
        except ConnectorError as error:
            db.session.rollback()
            failures += 1
            logger.warning("%s connection %s failed: %s", doing, connection_id, error)
        except Exception:
            db.session.rollback()
            failures += 1
            logger.exception("%s connection %s failed", doing, connection_id)
    return len(connection_ids) - failures, failures


def store_credentials(connection: ShopConnection, credentials: dict[str, str]) -> None:
    """Encrypt and attach a connection's credentials (only the fields its platform uses)."""
    wanted = CREDENTIAL_FIELDS[connection.platform]
    connection.credentials_encrypted = encrypt_text(json.dumps({key: credentials[key] for key in wanted}))


def stored_credentials(connection: ShopConnection) -> dict[str, str]:
    """Return a connection's decrypted credentials."""
    if connection.credentials_encrypted is None:
        raise UserValueError(f"connection {connection.id} has no shop credentials yet")
    return json.loads(decrypt_text(connection.credentials_encrypted))


def connector_timeouts() -> tuple[float, float]:
    """Return the (connect, read) timeouts of outbound shop and agency calls (``CLAIMBRIDGE_CONNECTOR_TIMEOUT``)."""
    read = current_app.config["CLAIMBRIDGE_CONNECTOR_TIMEOUT"]
    return min(5.0, read), read


def build_connector(
    platform: str, shop_url: str, credentials: dict[str, str], **options: Any
) -> ShopConnector:
    """Construct the connector for a platform; private addresses only where configuration allows them."""
    allow_private = current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"]
    options.setdefault("timeout", connector_timeouts())
    if platform == "shopware":
        return ShopwareConnector(
            shop_url,
            credentials["api_key"],
            credentials["secret_key"],
            allow_private=allow_private,
            **options,
        )
    if platform == "woocommerce":
        return WooCommerceConnector(
            shop_url,
            credentials["consumer_key"],
            credentials["consumer_secret"],
            allow_private=allow_private,
            **options,
        )
    raise UserValueError(
        f"platform {platform!r} has no shop connector; its orders are pushed through the API"
    )


def invoice_methods_of(connection: ShopConnection) -> tuple[str, ...]:
    """Return the payment methods that count as invoice for a connection's orders: the merchant's policy's."""
    return tuple(get_policy(connection.merchant_id).invoice_methods)


def connector_for(connection: ShopConnection, **options: Any) -> ShopConnector:
    """Return a ready connector for a stored connection."""
    if connection.platform == "woocommerce":
        # WooCommerce has no payment state: whether "processing" means paid depends on the gateway being
        # invoice-like, which is the connection's setting, not the connector's defaults.
        options.setdefault("invoice_methods", invoice_methods_of(connection))
    return build_connector(
        connection.platform, connection.shop_url, stored_credentials(connection), **options
    )
