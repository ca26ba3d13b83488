"""WooCommerce webhooks: register them in a shop with a per-connection secret, and take their deliveries.

A delivery only means "re-fetch this order": it is verified, its order id queued with
``request_order_sync`` and answered at once; the worker fetches the order through the REST API. WooCommerce
never retries and coalesces deliveries, so the reconciliation poll catches whatever gets lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import sqlalchemy as sa
from flask import current_app

from backend.crypto import decrypt_text, encrypt_text, new_secret
from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.orders.services import request_order_sync
from backend.untrusted import loads
from backend.woocommerce.errors import InvalidWebhookSignatureError, MalformedWebhookError
from backend.woocommerce.models import WooCommerceWebhook
from connectors.shops.woocommerce import (
    WEBHOOK_TOPICS,
    WooCommerceConnector,
    is_webhook_ping,
    verify_webhook_signature,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
ORDER_ID = re.compile(r"[0-9]{1,19}")  # WordPress post ids are BIGINT UNSIGNED


def webhook_url(connection_id: int) -> str:
    """Return the delivery URL of a connection's webhooks (below the backend's public URL)."""
    return f"{current_app.config['CLAIMBRIDGE_PUBLIC_URL'].rstrip('/')}/woocommerce/webhooks/{connection_id}"


def register_webhooks(connection: ShopConnection, connector: WooCommerceConnector) -> WooCommerceWebhook:
    """Create (or re-arm) the shop's order webhooks with a new secret; store the secret encrypted."""
    secret = new_secret()
    hook_ids = connector.ensure_webhooks(webhook_url(connection.id), secret, topics=WEBHOOK_TOPICS)
    row = db.session.get(WooCommerceWebhook, connection.id)
    if row is None:
        row = WooCommerceWebhook(connection_id=connection.id)
        db.session.add(row)
    row.secret_encrypted = encrypt_text(secret)
    row.webhook_ids = hook_ids
    db.session.flush()
    logger.info("connection %s: webhooks %s registered", connection.id, hook_ids)
    return row


def forget_webhooks(connection: ShopConnection) -> None:
    """Drop a connection's webhook secret: its deliveries are answered 401 from now on."""
    db.session.execute(sa.delete(WooCommerceWebhook).where(WooCommerceWebhook.connection_id == connection.id))


def receive_webhook(connection_id: int, headers: Mapping[str, str], body: bytes) -> str:
    """Check one delivery and queue its order for re-fetching; return "ping", "queued" or "ignored"."""
    if is_webhook_ping(headers, body):
        # WooCommerce pings while the webhook is being created, which happens inside our own
        # connection-creation request, before the connection row is committed: answer 200 regardless.
        return "ping"
    hooks = db.session.scalar(
        sa.select(WooCommerceWebhook)
        .join(ShopConnection, ShopConnection.id == WooCommerceWebhook.connection_id)
        .where(
            WooCommerceWebhook.connection_id == connection_id,
            ShopConnection.platform == "woocommerce",
            ShopConnection.status == "active",
        )
    )
    # An unknown or inactive connection answers exactly like a wrong signature, after the same HMAC work,
    # so an unsigned request cannot tell which connection ids are live.
    secret = decrypt_text(hooks.secret_encrypted) if hooks is not None else new_secret()
    if not verify_webhook_signature(secret, body, headers.get(SIGNATURE_HEADER)) or hooks is None:
        raise InvalidWebhookSignatureError("The webhook signature does not match this connection's secret.")
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    if not topic:
        raise MalformedWebhookError(f"The {TOPIC_HEADER} header is missing.")
    if topic.partition(".")[0] != "order":
        logger.info("connection %s: webhook topic %s ignored", connection_id, topic)
        return "ignored"
    request_order_sync(hooks.connection, _order_id(body), reason=topic)
    return "queued"


def _order_id(body: bytes) -> str:
    try:
        payload = loads(body)
    except ValueError as error:  # UnicodeDecodeError included
        raise MalformedWebhookError("The webhook body is not JSON.") from error
    order_id = payload.get("id") if isinstance(payload, dict) else None
    # ASCII digits only: "²".isdigit() is true, but int("²") fails.
    if (
        isinstance(order_id, bool)
        or not isinstance(order_id, int | str)
        or not ORDER_ID.fullmatch(str(order_id))
    ):
        raise MalformedWebhookError(
            "The webhook body has no order id.", details={"/id": ["missing or not a number"]}
        )
    return str(int(order_id))
