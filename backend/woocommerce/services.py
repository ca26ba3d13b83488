"""WooCommerce shops: the webhooks ClaimBridge keeps in each shop, their health, and their deliveries.

A delivery only means "re-fetch this order": it is verified, its order id queued with
``request_order_sync`` and answered at once; the worker fetches the order through the REST API. WooCommerce
never retries, coalesces deliveries and disables a webhook after more than five failed ones, so the
reconciliation poll catches whatever gets lost and ``check_webhooks`` re-enables what the shop disabled.

Each topic has its own delivery URL (``/woocommerce/webhooks/<connection>/<topic>``), so the unsigned ping
WooCommerce sends while creating a webhook tells which topic reached us; a topic whose ping never came is the
sign that the shop cannot reach the backend (WordPress' safe ports, private addresses).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.crypto import decrypt_text, encrypt_text, new_secret
from backend.extensions import PreparedStatement, db, utcnow
from backend.merchants.connectors import connector_for, for_each_active_connection
from backend.merchants.models import ShopConnection
from backend.orders.services import request_order_sync
from backend.untrusted import UNSAFE, loads
from backend.woocommerce.errors import InvalidWebhookSignatureError, MalformedWebhookError
from backend.woocommerce.models import WebhookTopic, WooCommerceWebhook
from connectors import errors as shop_errors
from connectors.shops.woocommerce import (
    WEBHOOK_TOPICS,
    WooCommerceConnector,
    is_webhook_ping,
    verify_webhook_signature,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
MAX_TOPIC_LENGTH = 100  # an order's topic is its sync request's reason, a VARCHAR(100)
ORDER_ID = re.compile(r"[0-9]{1,19}")  # WordPress post ids are BIGINT UNSIGNED
# wp-includes/http.php wp_http_validate_url(): what wp_safe_remote_post reaches without http_allowed_safe_ports.
WORDPRESS_SAFE_PORTS = (80, 443, 8080)
# WooCommerce pings while it creates the webhook; allow for a slow shop before calling the ping missing.
PING_GRACE = timedelta(minutes=2)
REARMED_STATUSES = ("disabled", "paused")


def webhook_url(connection_id: int, topic: str | None = None) -> str:
    """Return the delivery URL of a connection's webhook for ``topic`` (below the backend's public URL)."""
    base = f"{current_app.config['CLAIMBRIDGE_PUBLIC_URL'].rstrip('/')}/woocommerce/webhooks/{connection_id}"
    return base if topic is None else f"{base}/{topic}"


def _ours(connection_id: int, hooks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the shop's webhooks that deliver to this connection (any topic, old URLs included)."""
    base = webhook_url(connection_id)
    return [hook for hook in hooks if str(hook.get("delivery_url") or "").split("?")[0].startswith(base)]


def _topic_rows(connection_id: int) -> dict[str, WebhookTopic]:
    rows = db.session.scalars(sa.select(WebhookTopic).filter_by(connection_id=connection_id))
    return {row.topic: row for row in rows}


def register_webhooks(
    connection: ShopConnection,
    connector: WooCommerceConnector,
    *,
    checkpoint: Callable[[], None] | None = None,
) -> WooCommerceWebhook:
    """Create (or re-arm) one webhook per topic with a new secret; store the secret encrypted.

    ``checkpoint`` (the caller's commit) runs before the shop is called, so the pings WooCommerce sends while
    it creates the webhooks can be recorded by another request. Hooks of ours the shop still has under other
    URLs (older registrations) are deleted.
    """
    rows = _topic_rows(connection.id)
    for topic in WEBHOOK_TOPICS:
        if topic not in rows:
            rows[topic] = WebhookTopic(connection_id=connection.id, topic=topic)
            db.session.add(rows[topic])
    db.session.flush()
    if checkpoint is not None:
        checkpoint()
    secret = new_secret()
    ours = _ours(connection.id, connector.webhooks())
    started = utcnow()
    ids = connector.ensure_webhooks(
        {topic: webhook_url(connection.id, topic) for topic in WEBHOOK_TOPICS}, secret, existing=ours
    )
    for hook in ours:
        if int(hook["id"]) not in ids.values():
            connector.delete_webhook(int(hook["id"]))
    row = db.session.get(WooCommerceWebhook, connection.id)
    if row is None:
        row = WooCommerceWebhook(connection_id=connection.id)
        db.session.add(row)
    row.secret_encrypted = encrypt_text(secret)
    rows = _topic_rows(connection.id)  # re-read: the pings may have been recorded meanwhile
    for topic, hook_id in ids.items():
        topic_row = rows[topic]
        if topic_row.webhook_id != hook_id:
            topic_row.webhook_id = hook_id
            topic_row.created_in_shop_at = started
        topic_row.status_in_shop = "active"
        topic_row.checked_at = utcnow()
    db.session.flush()
    logger.info("connection %s: webhooks %s registered", connection.id, ids)
    return row


def check_webhooks(connection: ShopConnection, connector: WooCommerceConnector) -> list[str]:
    """Read the webhooks' status in the shop; re-enable disabled ones and re-create missing ones.

    Return the topics that were healed. Runs with the reconciliation, i.e. while the backend is up.
    """
    row = db.session.get(WooCommerceWebhook, connection.id)
    if row is None:
        register_webhooks(connection, connector)
        return list(WEBHOOK_TOPICS)
    in_shop = {int(hook["id"]): hook for hook in _ours(connection.id, connector.webhooks())}
    rows = _topic_rows(connection.id)
    healed: list[str] = []
    missing: list[str] = []
    now = utcnow()
    for topic in WEBHOOK_TOPICS:
        topic_row = rows.get(topic)
        hook = in_shop.get(topic_row.webhook_id) if topic_row and topic_row.webhook_id else None
        if hook is None:
            missing.append(topic)
            continue
        status = str(hook.get("status") or "")
        if status in REARMED_STATUSES:
            status = str(connector.set_webhook_status(int(hook["id"]), "active").get("status") or "active")
            healed.append(topic)
            record_event(
                "connection.webhook_reenabled",
                actor="reconcile",
                merchant_id=connection.merchant_id,
                target_type="shop_connection",
                target_id=connection.id,
                details={"topic": topic, "webhook_id": int(hook["id"])},
            )
            logger.warning(
                "connection %s: webhook %s (%s) was disabled; re-enabled", connection.id, hook["id"], topic
            )
        topic_row.status_in_shop = status
        topic_row.checked_at = now
    if missing:
        # A hook the shop lost (deleted by hand, or never registered per topic): register the set anew.
        register_webhooks(connection, connector)
    db.session.flush()
    return healed + missing


def reconcile_shop(connection: ShopConnection) -> list[str]:
    """Heal the shop's webhooks (``check_webhooks``) and note whether the ClaimBridge plugin answers.

    Return the topics that were healed.
    """
    connector = connector_for(connection)
    try:
        healed = check_webhooks(connection, connector)
        check_plugin(connection, connector)
    finally:
        connector.close()
    return healed


def reconcile_shops() -> str:
    """Reconcile every active WooCommerce shop's webhooks and plugin, committing each; a failing shop stops none."""
    done, failed = for_each_active_connection(
        ("woocommerce",), reconcile_shop, doing="reconciling the shop of"
    )
    return f"{done} reconciled, {failed} failed"


def webhooks_in_shop(connection: ShopConnection, connector: WooCommerceConnector) -> dict[str, str | None]:
    """Return each topic's webhook status as the shop reports it now (None: the shop has none); change nothing."""
    in_shop = {int(hook["id"]): hook for hook in _ours(connection.id, connector.webhooks())}
    rows = _topic_rows(connection.id)
    found: dict[str, str | None] = {}
    for topic in WEBHOOK_TOPICS:
        row = rows.get(topic)
        hook = in_shop.get(row.webhook_id) if row is not None and row.webhook_id else None
        found[topic] = str(hook.get("status") or "") if hook is not None else None
    return found


def remove_webhooks(connection: ShopConnection, connector: WooCommerceConnector) -> int:
    """Delete this connection's webhooks from the shop; return how many were deleted."""
    ours = _ours(connection.id, connector.webhooks())
    for hook in ours:
        connector.delete_webhook(int(hook["id"]))
    logger.info("connection %s: %s webhook(s) deleted from the shop", connection.id, len(ours))
    return len(ours)


def forget_webhooks(connection: ShopConnection) -> None:
    """Drop a connection's webhook secret: its deliveries are answered 401 from now on."""
    db.session.execute(sa.delete(WebhookTopic).where(WebhookTopic.connection_id == connection.id))
    db.session.execute(sa.delete(WooCommerceWebhook).where(WooCommerceWebhook.connection_id == connection.id))


def check_plugin(connection: ShopConnection, connector: WooCommerceConnector) -> str | None:
    """Ask the shop for the ClaimBridge plugin's status route; store and return its version (None: absent)."""
    try:
        status = connector.plugin_status()
        version = str(status.get("plugin_version") or "unknown") if isinstance(status, dict) else "unknown"
    except (shop_errors.NotFoundError, shop_errors.AuthError, shop_errors.ClientError):
        # rest_no_route (plugin inactive), or a route the key may not use: either way, no plugin for us.
        version = None
    row = db.session.get(WooCommerceWebhook, connection.id)
    if row is not None:
        row.plugin_version = version
        row.plugin_checked_at = utcnow()
    return version


class WooCommerceConnectionSteps:
    """What connecting a WooCommerce shop takes (``merchants.services.ConnectionSteps``): its webhooks and plugin."""

    platform = "woocommerce"
    refused = "The key may read orders but not create webhooks; give it Read/Write permission"

    def connect(
        self,
        connection: ShopConnection,
        connector: WooCommerceConnector,
        checkpoint: Callable[[], None] | None,
    ) -> None:
        """Register the shop's webhooks and look for the ClaimBridge plugin."""
        register_webhooks(connection, connector, checkpoint=checkpoint)
        check_plugin(connection, connector)

    def forget(self, connection: ShopConnection) -> None:
        """Drop the connection's webhook secret and topics."""
        forget_webhooks(connection)

    def disconnect(self, connection: ShopConnection, connector: WooCommerceConnector) -> None:
        """Delete the connection's webhooks from the shop."""
        remove_webhooks(connection, connector)


CONNECTION_STEPS = WooCommerceConnectionSteps()


def plugin_version(connection: ShopConnection) -> str | None:
    """Return the plugin version last seen in the connection's shop (None: not seen)."""
    row = db.session.get(WooCommerceWebhook, connection.id)
    return row.plugin_version if row is not None else None


def webhook_health(connection: ShopConnection) -> list[dict[str, Any]]:
    """Return each topic's webhook as the shop showed it last, and what reached us from it."""
    return [
        {
            "topic": topic,
            "webhook_id": row.webhook_id if row else None,
            "status_in_shop": row.status_in_shop if row else None,
            "checked_at": row.checked_at if row else None,
            "last_delivery_at": row.last_delivery_at if row else None,
            "ping_received": bool(row and row.ping_received_at),
        }
        for topic, row in ((topic, _topic_rows(connection.id).get(topic)) for topic in WEBHOOK_TOPICS)
    ]


def _unreachable_causes(url: str) -> dict[str, Any]:
    """Return why WordPress' wp_safe_remote_post would refuse ``url``: a ``port`` or a ``private_host`` it refuses."""
    parts = urlsplit(url)
    causes: dict[str, Any] = {}
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port not in WORDPRESS_SAFE_PORTS:
        causes["port"] = port
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        address = None
    if (address is not None and (address.is_private or address.is_loopback)) or parts.hostname == "localhost":
        causes["private_host"] = parts.hostname
    return causes


def _unreachable_reasons(causes: Mapping[str, Any]) -> list[str]:
    reasons = []
    if "port" in causes:
        reasons.append(
            f"its port {causes['port']} is not one WordPress delivers to (80, 443, 8080, unless the shop adds it "
            "with the http_allowed_safe_ports filter)"
        )
    if "private_host" in causes:
        reasons.append(f"{causes['private_host']} is a private or loopback address WordPress refuses to call")
    return reasons


def connection_problems(connection: ShopConnection, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return what keeps a WooCommerce connection from working fully, each with a fix.

    Each problem's ``params`` carry what its message names, so the console can say it in the user's language.
    """
    if connection.platform != "woocommerce" or connection.status != "active":
        return []
    now = now or utcnow()
    problems = []
    health = _topic_rows(connection.id)
    missing_ping = [
        topic
        for topic, row in health.items()
        if row.webhook_id is not None
        and row.ping_received_at is None
        and row.last_delivery_at is None
        and row.created_in_shop_at is not None
        and row.created_in_shop_at <= now - PING_GRACE
    ]
    if missing_ping:
        url = webhook_url(connection.id)
        causes = _unreachable_causes(url)
        reasons = _unreachable_reasons(causes)
        because = f": {'; '.join(reasons)}" if reasons else ""
        problems.append(
            {
                "code": "webhook_ping_missing",
                "params": {"url": url, "topics": sorted(missing_ping), **causes},
                "message": (
                    f"The shop never reached ClaimBridge at {url} (no ping for {', '.join(sorted(missing_ping))})"
                    f"{because}. Orders still arrive through the regular poll, only later."
                ),
                "fix": (
                    "Give the backend a public URL (CLAIMBRIDGE_PUBLIC_URL) the shop can reach on port 443, 80 or "
                    "8080, or allow its port in the shop with the http_allowed_safe_ports filter; then update the "
                    "connection so the webhooks are created anew."
                ),
            }
        )
    disabled = sorted(row.topic for row in health.values() if row.status_in_shop in REARMED_STATUSES)
    if disabled:
        problems.append(
            {
                "code": "webhook_disabled",
                "params": {"topics": disabled},
                "message": f"WooCommerce disabled the webhook(s) {', '.join(disabled)} after failed deliveries.",
                "fix": "ClaimBridge re-enables them with the next reconciliation; check that the backend is reachable.",
            }
        )
    unregistered = sorted(
        set(WEBHOOK_TOPICS) - {t for t, row in health.items() if row.webhook_id is not None}
    )
    if unregistered:
        problems.append(
            {
                "code": "webhook_missing",
                "params": {"topics": unregistered},
                "message": f"The shop has no ClaimBridge webhook for {', '.join(unregistered)}.",
                "fix": "ClaimBridge creates them with the next reconciliation; the key needs Read/Write permission.",
            }
        )
    if plugin_version(connection) is None:
        problems.append(
            {
                "code": "plugin_missing",
                "params": {},
                "message": (
                    "The ClaimBridge plugin does not answer in this shop: dunning notices cannot go out through "
                    "the shop and admin notices wait until it does."
                ),
                "fix": "Install and activate the ClaimBridge plugin for WooCommerce in the shop.",
            }
        )
    return problems


# A delivery's statements, compiled once and run as SQL text on the request's connection: built anew they cost
# more CPU than running them, and the ORM's execute (an entity loaded, the session's bookkeeping) as much again.
_webhooks, _connections, _topics = (
    WooCommerceWebhook.__table__,
    ShopConnection.__table__,
    WebhookTopic.__table__,
)
_ACTIVE_HOOKS_SECRET = PreparedStatement(
    sa.select(_webhooks.c.secret_encrypted)
    .join(_connections, _connections.c.id == _webhooks.c.connection_id)
    .where(
        _webhooks.c.connection_id == sa.bindparam("connection"),
        _connections.c.platform == "woocommerce",
        _connections.c.status == "active",
    )
)
# Every delivery of a topic would update the same row, and on PostgreSQL parallel deliveries queued on its lock
# until each committed; the time is kept to the minute, so most deliveries leave the row alone.
DELIVERY_MARK_INTERVAL = timedelta(minutes=1)
_DELIVERED = PreparedStatement(
    sa.update(_topics)
    .where(
        _topics.c.connection_id == sa.bindparam("connection"),
        _topics.c.topic == sa.bindparam("delivered_topic"),
        sa.or_(
            _topics.c.last_delivery_at.is_(None),
            _topics.c.last_delivery_at < sa.bindparam("marked_before"),
        ),
    )
    .values(last_delivery_at=sa.bindparam("now"))
)


def receive_webhook(
    connection_id: int, headers: Mapping[str, str], body: bytes, *, topic: str | None = None
) -> str:
    """Check one delivery and queue its order for re-fetching; return "ping", "queued" or "ignored"."""
    if is_webhook_ping(headers, body):
        # Unsigned by design: it can only mark the ping of a topic we are registering as received.
        if topic is not None:
            db.session.execute(
                sa.update(WebhookTopic)
                .where(
                    WebhookTopic.connection_id == connection_id,
                    WebhookTopic.topic == topic,
                    WebhookTopic.ping_received_at.is_(None),
                )
                .values(ping_received_at=utcnow())
            )
        return "ping"
    connection = db.session.connection()
    hooks = _ACTIVE_HOOKS_SECRET.rows(connection, {"connection": connection_id})
    # An unknown or inactive connection answers exactly like a wrong signature, after the same HMAC work,
    # so an unsigned request cannot tell which connection ids are live.
    secret = decrypt_text(hooks[0][0]) if hooks else new_secret()
    if not verify_webhook_signature(secret, body, headers.get(SIGNATURE_HEADER)) or not hooks:
        raise InvalidWebhookSignatureError("The webhook signature does not match this connection's secret.")
    topic_header = _delivered_topic(headers)
    # The body is read before anything is written: on PostgreSQL each statement commits on its own (the view
    # is ``@autocommit``), and a refused delivery leaves no mark.
    order_id = _order_id(body) if topic_header.partition(".")[0] == "order" else None
    now = utcnow()
    _DELIVERED.execute(
        connection,
        {
            "connection": connection_id,
            "delivered_topic": topic_header,
            "now": now,
            "marked_before": now - DELIVERY_MARK_INTERVAL,
        },
    )
    if order_id is None:
        logger.info("connection %s: webhook topic %s ignored", connection_id, topic_header)
        return "ignored"
    request_order_sync(connection_id, order_id, reason=topic_header)
    return "queued"


def _delivered_topic(headers: Mapping[str, str]) -> str:
    """Return the delivery's topic; refuse a missing one and one no column can hold (too long, a NUL)."""
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    if not topic:
        raise MalformedWebhookError(f"The {TOPIC_HEADER} header is missing.")
    if len(topic) > MAX_TOPIC_LENGTH or UNSAFE.search(topic):
        raise MalformedWebhookError(f"The {TOPIC_HEADER} header is not a WooCommerce topic.")
    return topic


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
