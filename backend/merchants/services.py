"""Merchants and their shop connections.

Connecting, reconnecting and disabling a shop is the same for every platform here; what a platform's protocol
adds (WooCommerce registers its webhooks) comes in as ``ConnectionSteps`` from the shop protocols above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.errors import AppError, ConflictError, NotFoundError, UserValueError
from backend.extensions import db
from backend.merchants.connectors import (
    CREDENTIAL_FIELDS,
    build_connector,
    connector_for,
    invoice_methods_of,
    store_credentials,
    stored_credentials,
)
from backend.merchants.errors import ShopUnreachableError
from backend.merchants.models import Merchant, ShopConnection
from connectors import errors as shop_errors
from connectors.shops.base import ShopConnector
from connectors.shops.woocommerce import WooCommerceConnector
from connectors.ssrf import validate_public_url

logger = logging.getLogger(__name__)

T = TypeVar("T")
SHOP_PLATFORMS = tuple(CREDENTIAL_FIELDS)
VERIFY_TIMEOUT = (5.0, 20.0)


class ConnectionSteps(Protocol):
    """What a platform's protocol does when one of its connections is connected or disabled.

    ``backend/woocommerce/services.py`` has the WooCommerce steps; the views, the CLI and the connect flow pass
    them in, so this tenant foundation does not import the shop protocols.
    """

    platform: str
    # What the merchant is told when the shop refuses ``connect`` for the key's permissions.
    refused: str

    def connect(
        self, connection: ShopConnection, connector: ShopConnector, checkpoint: Callable[[], None] | None
    ) -> None:
        """Set up the verified shop of a stored connection; ``checkpoint`` commits before the shop is called."""

    def forget(self, connection: ShopConnection) -> None:
        """Drop what ``connect`` stored (a new connection taken back, or a connection disabled)."""

    def disconnect(self, connection: ShopConnection, connector: ShopConnector) -> None:
        """Undo ``connect`` in the shop before the connection is disabled (may raise ConnectorError)."""


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


def _same_url(left: str, right: str) -> bool:
    """Compare two shop URLs as WordPress would sign them: scheme, host, port and path, case-blind."""
    a, b = urlsplit(left.rstrip("/")), urlsplit(right.rstrip("/"))
    return (a.scheme.lower(), a.netloc.lower(), a.path.rstrip("/")) == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path.rstrip("/"),
    )


def _check_woocommerce_home(connector: WooCommerceConnector, shop_url: str) -> None:
    """Refuse a URL that is not WordPress' home URL: signatures would fail and look like wrong keys."""
    try:
        home = connector.home_url()
    except shop_errors.ConnectorError:
        return  # the index is optional (security plugins hide it); the key check speaks for itself
    if home and not _same_url(home, shop_url):
        message = (
            f"This shop calls itself {home}, not {shop_url}. WooCommerce checks signatures against its home "
            f"URL, so connect it as {home}."
        )
        raise UserValueError(
            message, code="shop_url_mismatch", details={"/shop_url": [message], "home_url": home}
        )


def _verified_connector(platform: str, shop_url: str, secrets: dict[str, str]) -> ShopConnector:
    """Build a connector and prove URL and credentials with real calls; the caller closes it."""
    # The merchant is waiting for the answer: one quick retry at most, not the worker's patience.
    connector = build_connector(platform, shop_url, secrets, timeout=VERIFY_TIMEOUT, max_retries=1)
    shop = {"platform": platform, "shop_url": shop_url}
    try:
        if isinstance(connector, WooCommerceConnector):
            _call_shop(lambda: _check_woocommerce_home(connector, shop_url), **shop, refused="")
        _call_shop(connector.verify, **shop, refused="The shop refused these credentials")
    except Exception:
        connector.close()
        raise
    return connector


def _steps_for(connection: ShopConnection, steps: ConnectionSteps | None) -> ConnectionSteps | None:
    """Return ``steps`` when they are the connection's platform's, else None (that platform needs none)."""
    return steps if steps is not None and steps.platform == connection.platform else None


def _connect_shop(
    connection: ShopConnection,
    connector: ShopConnector,
    steps: ConnectionSteps,
    checkpoint: Callable[[], None] | None,
) -> None:
    """Run the platform's connect steps, turning the shop's failures into errors the merchant can act on."""
    _call_shop(
        lambda: steps.connect(connection, connector, checkpoint),
        platform=connection.platform,
        shop_url=connection.shop_url,
        refused=steps.refused,
    )


def create_connection(
    merchant_id: int,
    *,
    platform: str,
    shop_url: str,
    credentials: Mapping[str, Any],
    name: str = "",
    actor: str,
    steps: ConnectionSteps | None,
    checkpoint: Callable[[], None] | None = None,
) -> ShopConnection:
    """Verify a shop's URL and credentials with real calls, then store the connection with them encrypted.

    Connecting a shop the merchant connected before (same platform and URL, even a disabled connection)
    reuses that connection, so its receivables stay single. The platform's ``steps`` then set the shop up
    (WooCommerce: order webhooks signed with a new per-connection secret); ``checkpoint`` (the caller's
    commit) runs before the shop is asked to create them, so their pings can be recorded. When a step fails
    nothing new stays stored.
    """
    get_merchant(merchant_id)
    if platform not in SHOP_PLATFORMS:
        raise UserValueError(
            f"platform must be one of {', '.join(SHOP_PLATFORMS)}",
            details={"/platform": ["unknown platform"]},
        )
    shop_url = _checked_shop_url(shop_url)
    secrets = _checked_credentials(platform, credentials)
    earlier = _connection_at(merchant_id, platform, shop_url)
    if earlier is not None:
        return update_connection(
            merchant_id,
            earlier.id,
            shop_url=shop_url,
            credentials=secrets,
            name=name or None,
            actor=actor,
            steps=steps,
            checkpoint=checkpoint,
            reactivate=True,
        )
    connector = _verified_connector(platform, shop_url, secrets)
    try:
        connection = ShopConnection(
            merchant_id=merchant_id, platform=platform, name=name.strip(), shop_url=shop_url, status="active"
        )
        store_credentials(connection, secrets)
        db.session.add(connection)
        db.session.flush()
        platform_steps = _steps_for(connection, steps)
        if platform_steps is not None:
            try:
                _connect_shop(connection, connector, platform_steps, checkpoint)
            except AppError:
                # Take the row back (it may be committed already for the pings) so nothing half-made stays.
                platform_steps.forget(connection)
                db.session.delete(connection)
                db.session.flush()
                if checkpoint is not None:
                    checkpoint()
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


def _connection_at(
    merchant_id: int, platform: str, shop_url: str, *, other_than: int | None = None
) -> ShopConnection | None:
    """Return the merchant's connection to this shop (active ones first), if there is one."""
    candidates = db.session.scalars(
        sa.select(ShopConnection)
        .filter_by(merchant_id=merchant_id, platform=platform)
        .order_by((ShopConnection.status == "active").desc(), ShopConnection.id)
    )
    for candidate in candidates:
        if candidate.id != other_than and _same_url(candidate.shop_url, shop_url):
            return candidate
    return None


def update_connection(
    merchant_id: int,
    connection_id: int,
    *,
    shop_url: str | None = None,
    credentials: Mapping[str, Any] | None = None,
    name: str | None = None,
    actor: str,
    steps: ConnectionSteps | None,
    checkpoint: Callable[[], None] | None = None,
    reactivate: bool = False,
) -> ShopConnection:
    """Change a connection's URL, credentials or name; its identity and receivables stay.

    A new URL or new credentials are verified against the shop first (keys kept when only the URL changes);
    the platform's ``steps`` then set the shop up again (WooCommerce: webhooks with a new secret).
    ``reactivate`` brings a disabled connection back (connecting its shop again); otherwise a disabled
    connection needs new credentials.
    """
    connection = get_connection(merchant_id, connection_id)
    changes: dict[str, Any] = {}
    new_url = _checked_shop_url(shop_url) if shop_url is not None else connection.shop_url
    if new_url != connection.shop_url:
        other = _connection_at(merchant_id, connection.platform, new_url, other_than=connection.id)
        if other is not None and other.status == "active":
            raise ConflictError(
                f"connection {other.id} already connects {new_url}", details={"connection_id": other.id}
            )
        changes["shop_url"] = [connection.shop_url, new_url]
    if credentials is not None:
        secrets = _checked_credentials(connection.platform, credentials)
        changes["credentials"] = "replaced"
    elif connection.credentials_encrypted is not None:
        secrets = stored_credentials(connection)
    else:
        raise UserValueError(
            f"connection {connection.id} is disabled; send new credentials to connect it again",
            details={"/credentials": ["required for a disabled connection"]},
        )
    reconnect = bool(changes) or reactivate or connection.status != "active"
    if reconnect and connection.status != "active" and not reactivate and credentials is None:
        raise UserValueError(
            "a disabled connection needs new credentials", details={"/credentials": ["required"]}
        )
    connector = _verified_connector(connection.platform, new_url, secrets) if reconnect else None
    try:
        if name is not None and name.strip() != connection.name:
            changes["name"] = [connection.name, name.strip()]
            connection.name = name.strip()
        if reconnect:
            if connection.status != "active":
                changes["status"] = [connection.status, "active"]
            connection.shop_url = new_url
            connection.status = "active"
            store_credentials(connection, secrets)
            db.session.flush()
            platform_steps = _steps_for(connection, steps)
            if platform_steps is not None:
                _connect_shop(connection, connector, platform_steps, checkpoint)
    finally:
        if connector is not None:
            connector.close()
    if changes:
        record_event(
            "connection.updated",
            actor=actor,
            merchant_id=merchant_id,
            target_type="shop_connection",
            target_id=connection.id,
            details=changes,
        )
        logger.info("connection %s updated by %s: %s", connection.id, actor, sorted(changes))
    return connection


def shop_payment_methods(merchant_id: int, connection_id: int) -> list[dict[str, Any]]:
    """Return the payment gateways the connection's shop offers, each marked invoice-like or not."""
    connection = get_connection(merchant_id, connection_id)
    if connection.platform != "woocommerce" or connection.status != "active":
        raise UserValueError(
            "Only active WooCommerce connections list their payment gateways.",
            details={"/connection_id": [f"{connection.platform} connection, {connection.status}"]},
        )
    counted = set(invoice_methods_of(connection))
    connector = connector_for(connection, timeout=VERIFY_TIMEOUT, max_retries=1)
    try:
        gateways = _call_shop(
            connector.payment_gateways,
            platform=connection.platform,
            shop_url=connection.shop_url,
            refused="The key may not read the shop's payment gateways",
        )
    finally:
        connector.close()
    return [{**gateway, "invoice_like": gateway["id"] in counted} for gateway in gateways]


def disable_connection(
    merchant_id: int, connection_id: int, *, actor: str, steps: ConnectionSteps | None
) -> ShopConnection:
    """Disable a connection: the platform's ``steps`` undo their setup (WooCommerce: webhooks deleted from the
    shop, their secret dropped), and its credentials are dropped.

    What waits in the shop outboxes for it is parked by their workers, to be retried once it is connected again.

    Receivables stay, and connecting the same shop again brings them back. A shop that cannot be reached
    keeps its webhooks; our endpoint answers them 404 and WooCommerce disables them after failed deliveries.
    """
    connection = get_connection(merchant_id, connection_id)
    if connection.status == "disabled":
        return connection
    platform_steps = _steps_for(connection, steps)
    if platform_steps is not None and connection.credentials_encrypted is not None:
        connector = connector_for(connection, timeout=VERIFY_TIMEOUT, max_retries=1)
        try:
            platform_steps.disconnect(connection, connector)
        except shop_errors.ConnectorError as error:
            logger.warning("connection %s: shop setup not undone in the shop: %s", connection.id, error)
        finally:
            connector.close()
    connection.status = "disabled"
    connection.credentials_encrypted = None
    if platform_steps is not None:
        platform_steps.forget(connection)
    record_event(
        "connection.disabled",
        actor=actor,
        merchant_id=merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
    )
    logger.info("connection %s disabled by %s", connection.id, actor)
    return connection
