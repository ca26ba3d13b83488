"""Shopware shops: registration handshake, secret rotation, lifecycle, webhook events and the admin session.

Functions flush and never commit; the view (or the worker) commits once. Secrets are stored encrypted and never
logged. Order work is not done here: webhook events are stored (deduplicated by eventId) and the worker turns
each into a re-fetch of its order (``backend.orders.services.request_order_sync``).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from backend.audit.services import record_event
from backend.console.sessions import origin_of
from backend.crypto import decrypt_text, encrypt_text, hash_secret, new_secret, secret_matches
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import PreparedStatement, db, dialect_insert, utcnow
from backend.handovers.decisions import list_handover_rows
from backend.merchants.connectors import connector_for
from backend.merchants.models import Merchant, RiskPolicyRecord, ShopConnection
from backend.merchants.services import create_merchant
from backend.orders.services import request_order_sync
from backend.privacy.services import register_check_linked_data
from backend.receivables.models import Receivable
from backend.receivables.states import State
from backend.risk.models import RiskCheck
from backend.shopware import after_order, checkout, signing
from backend.shopware.errors import (
    InvalidSignatureError,
    MalformedShopRequestError,
    UnknownShopError,
    shop_request_errors,
)
from backend.shopware.manifest import LIFECYCLE_EVENTS, ORDER_EVENTS, ORDER_WRITTEN_EVENT
from backend.shopware.models import ShopwareEvent, ShopwareGatewayDecision, ShopwareShop
from backend.shopware.schemas import DeletedPayloadSchema
from connectors.shops.base import RISK_CHECK_FIELD

logger = logging.getLogger(__name__)

PLATFORM = "shopware"
# The shop confirms right after our registration answer; a pending secret older than this is void.
PENDING_REGISTRATION_TTL = timedelta(minutes=10)
# A registration never confirmed leaves a pending merchant behind; it is removed after this long.
ABANDONED_REGISTRATION_AGE = timedelta(days=1)
# Shopware retries a delivery within seconds; a week of event ids is ample for deduplication.
EVENT_RETENTION = timedelta(days=7)
MAX_DISPATCH_ATTEMPTS = 10
DISPATCH_BATCH = 200

_SHOPWARE_ID = re.compile(r"[0-9a-f]{32}")
# Orders one order.written delivery may queue, so one request's work stays bounded; orders beyond it in a
# larger write are caught by the reconciliation poll.
MAX_ORDERS_PER_WRITE = 500
# A reattach code: the old merchant's id (ASCII digits within a 32-bit id), a dash, token_urlsafe(12).
_REATTACH_CODE = re.compile(r"([0-9]{1,9})-[A-Za-z0-9_-]{16}")
# src/Core/Defaults.php LIVE_VERSION: the order as it is, not a draft of an edit in the Administration.
LIVE_VERSION_ID = "0fa91ce3e96a4bc2be4bd9ce752c3425"
# What writing our custom fields back to an order changes (the Admin API's PATCH of customFields).
_OWN_WRITE_FIELDS = frozenset({"customFields", "updatedAt"})
ORDER_PLACED_EVENT = "checkout.order.placed"


# Looking up shops -----------------------------------------------------------------------------------------------


# Built once: every signed request looks its shop up, and building the statement cost more than running it.
_SHOP_BY_ID = (
    sa.select(ShopwareShop)
    .join(ShopConnection, ShopwareShop.connection_id == ShopConnection.id)
    .options(contains_eager(ShopwareShop.connection))  # loaded by this join, not by a second one
    .where(ShopConnection.platform == PLATFORM, ShopConnection.shop_id == sa.bindparam("shop_id"))
)


# A shop completed registration once it has a secret: every signed request's shop lookup asks for one.
_REGISTERED = ShopwareShop.secret_encrypted.is_not(None)
_REGISTERED_SHOP_BY_ID = _SHOP_BY_ID.where(_REGISTERED)


def find_shop(shop_id: str) -> ShopwareShop | None:
    """Return the shop registered (or registering) under a Shopware shop id."""
    return db.session.scalar(_SHOP_BY_ID, {"shop_id": shop_id})


def get_registered_shop(shop_id: str) -> ShopwareShop:
    """Return a shop that completed registration; raise UnknownShopError otherwise."""
    shop = db.session.scalar(_REGISTERED_SHOP_BY_ID, {"shop_id": shop_id})
    if shop is None:
        raise UnknownShopError(f"shop {shop_id!r} is not registered with this app")
    return shop


def shop_secrets(shop: ShopwareShop) -> signing.ShopSecrets:
    """Return the secrets the shop may sign with: the current one and, after a rotation, the previous one."""
    if shop.secret_encrypted is None:
        raise UnknownShopError(f"shop {shop.connection.shop_id!r} is not registered with this app")
    return _decrypted_secrets(shop.secret_encrypted, shop.previous_secret_encrypted, shop.secret_rotated_at)


def _decrypted_secrets(
    current: str, previous: str | None, rotated_at: datetime | None
) -> signing.ShopSecrets:
    return signing.ShopSecrets(
        decrypt_text(current), decrypt_text(previous) if previous else None, rotated_at=rotated_at
    )


@dataclass(frozen=True, slots=True)
class WebhookShop:
    """The registered shop a webhook comes from, as storing the event and noting its versions need it."""

    connection_id: int
    app_version: str | None
    shopware_version: str | None


# The shop of a checkout gateway call or a webhook, as plain values on the request's connection: loading the shop
# and its connection as entities (and expiring them at commit) cost each 0.4-0.5 ms of CPU on PostgreSQL.
_REGISTERED_SHOP = PreparedStatement(
    sa.select(
        ShopwareShop.connection_id,
        ShopConnection.merchant_id,
        ShopwareShop.secret_encrypted,
        ShopwareShop.previous_secret_encrypted,
        ShopwareShop.secret_rotated_at,
        ShopwareShop.app_version,
        ShopwareShop.shopware_version,
    )
    .join(ShopConnection, ShopwareShop.connection_id == ShopConnection.id)
    .where(
        ShopConnection.platform == PLATFORM,
        ShopConnection.shop_id == sa.bindparam("shop_id"),
        _REGISTERED,
    )
)


def _registered_shop(shop_id: str) -> tuple[Any, ...]:
    """Return the ``_REGISTERED_SHOP`` row of a shop that completed registration; raise UnknownShopError otherwise."""
    rows = _REGISTERED_SHOP.rows(db.session.connection(), {"shop_id": shop_id})
    if not rows:
        raise UnknownShopError(f"shop {shop_id!r} is not registered with this app")
    return rows[0]


def _gateway_shop(shop_id: str) -> tuple[checkout.GatewayShop, signing.ShopSecrets]:
    """Return a shop that completed registration and its secrets; raise UnknownShopError otherwise."""
    connection_id, merchant_id, current, previous, rotated_at, _, _ = _registered_shop(shop_id)
    shop = checkout.GatewayShop(connection_id=connection_id, merchant_id=merchant_id)
    return shop, _decrypted_secrets(current, previous, rotated_at)


# Registration ---------------------------------------------------------------------------------------------------


def verify_registration_request(
    raw_query: bytes, signature: str | None, app_secret: str
) -> signing.RegistrationRequest:
    """Verify a registration GET by its raw query string and the app secret."""
    with shop_request_errors():
        return signing.verify_registration(raw_query, signature, app_secret, clock=utcnow)


def begin_registration(
    registration: signing.RegistrationRequest, raw_query: bytes, shop_signature: str | None
) -> tuple[ShopwareShop, str]:
    """Give the shop a pending secret and return it; a new shop id becomes a new merchant with a pending shop.

    A registered shop that signs with its current secret (``shopware-shop-signature``), or did so before, must
    do so now (app-php-sdk DualSignatureRequestVerifier); a Shopware 6.6 shop never sends it and is not asked.
    A retired shop (uninstalled, data kept) asked for by another URL is not handed over: its data stays apart
    and the registration starts afresh.
    """
    shop = find_shop(registration.shop_id)
    if shop is not None and shop.secret_encrypted is not None:
        if shop.dual_signature or shop_signature is not None:
            with shop_request_errors():
                signing.verify_registration_shop_signature(
                    raw_query, shop_signature, decrypt_text(shop.secret_encrypted)
                )
    elif (
        shop is not None and shop.app_state == "deleted" and shop.connection.shop_url != registration.shop_url
    ):
        _release_retired_shop(shop, registration)
        shop = None
    if shop is None:
        shop = _create_shop(registration)
    if shop_signature is not None:
        shop.dual_signature = True
    secret = signing.new_shop_secret()
    shop.pending_secret_encrypted = encrypt_text(secret)
    shop.pending_shop_url = registration.shop_url
    # Only pending fields change: anyone holding the app secret can get this far, the shop's secret cannot.
    shop.pending_since = utcnow()
    db.session.flush()
    logger.info(
        "shopware registration started: shop-id %s shop-url %s", registration.shop_id, registration.shop_url
    )
    return shop, secret


def _release_retired_shop(shop: ShopwareShop, registration: signing.RegistrationRequest) -> None:
    """Detach a retired shop's data from its shop id so a registration from elsewhere cannot claim it."""
    connection = shop.connection
    connection.shop_id = None
    record_event(
        "shopware.retired_shop_released",
        actor=f"shopware:{registration.shop_id}",
        merchant_id=connection.merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
        details={
            "shop_id": registration.shop_id,
            "shop_url": connection.shop_url,
            "registering_shop_url": registration.shop_url,
        },
    )
    db.session.flush()
    logger.warning(
        "shopware shop-id %s: retired shop of %s kept apart from a new registration by %s",
        registration.shop_id,
        connection.shop_url,
        registration.shop_url,
    )


def _create_shop(registration: signing.RegistrationRequest) -> ShopwareShop:
    host = urlsplit(registration.shop_url).hostname or registration.shop_url
    try:
        with db.session.begin_nested():
            merchant = create_merchant(host[:200], actor=f"shopware:{registration.shop_id}")
            connection = ShopConnection(
                merchant_id=merchant.id,
                platform=PLATFORM,
                name=host[:200],
                shop_url=registration.shop_url,
                shop_id=registration.shop_id,
                status="pending",
            )
            shop = ShopwareShop(connection=connection)
            db.session.add_all([connection, shop])
            db.session.flush()
    except sa.exc.IntegrityError as error:
        # Another request registered the same shop id a moment ago.
        raise ConflictError(f"shop {registration.shop_id!r} is registering already; try again") from error
    return shop


def confirm_registration(
    raw_body: bytes, signature: str | None, previous_signature: str | None
) -> ShopwareShop:
    """Verify the confirmation, switch to the new secret and store the shop's Admin API credentials."""
    with shop_request_errors():
        shop_id = signing.unverified_shop_id(raw_body)
    shop = find_shop(shop_id)
    if shop is None:
        raise UnknownShopError(f"shop {shop_id!r} has not asked to register")
    now = utcnow()
    if shop.pending_secret_encrypted is None or shop.pending_since is None:
        raise InvalidSignatureError(
            f"no registration is pending for shop {shop_id!r}", code="no_pending_registration"
        )
    if now - shop.pending_since > PENDING_REGISTRATION_TTL:
        raise InvalidSignatureError(
            f"the registration of shop {shop_id!r} expired; register again", code="no_pending_registration"
        )
    # A re-registering shop proves itself with its current secret only where it speaks the dual-signature
    # protocol; Shopware 6.6 switches to the new secret before confirming and cannot (app-php-sdk rule).
    must_sign_twice = shop.secret_encrypted is not None and (
        shop.dual_signature or previous_signature is not None
    )
    with shop_request_errors():
        confirmation = signing.verify_confirmation(
            raw_body,
            signature,
            decrypt_text(shop.pending_secret_encrypted),
            previous_signature=previous_signature,
            previous_secret=decrypt_text(shop.secret_encrypted) if must_sign_twice else None,
            clock=utcnow,
        )
    if confirmation.shop_url != shop.pending_shop_url:
        raise MalformedShopRequestError(
            f"shop {shop_id!r} confirmed shop URL {confirmation.shop_url!r}, "
            f"but registered {shop.pending_shop_url!r}"
        )

    connection = shop.connection
    previous_url = connection.shop_url
    if shop.secret_encrypted is not None:
        shop.previous_secret_encrypted = shop.secret_encrypted
        shop.secret_rotated_at = now
    shop.secret_encrypted = shop.pending_secret_encrypted
    shop.pending_secret_encrypted = shop.pending_shop_url = shop.pending_since = None
    connection.shop_url = confirmation.shop_url
    # The format backend.merchants.connectors reads to build the Shopware connector of any connection.
    connection.credentials_encrypted = encrypt_text(
        json.dumps({"api_key": confirmation.api_key, "secret_key": confirmation.secret_key})
    )
    if shop.app_state == "deleted":
        shop.app_state = "registered"
    connection.status = "disabled" if shop.app_state == "deactivated" else "active"
    first = shop.registered_at is None
    shop.registered_at = now
    details: dict[str, Any] = {"shop_id": shop_id, "shop_url": confirmation.shop_url}
    if previous_url != confirmation.shop_url:
        details["previous_shop_url"] = previous_url
    record_event(
        "shopware.registered" if first else "shopware.re_registered",
        actor=f"shopware:{shop_id}",
        merchant_id=connection.merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
        details=details,
    )
    db.session.flush()
    logger.info(
        "shopware registration confirmed: shop-id %s shop-url %s (%s)",
        shop_id,
        confirmation.shop_url,
        "first" if first else "secret rotated",
    )
    return shop


# Signed shop requests -------------------------------------------------------------------------------------------


def _claimed_shop(raw_body: bytes) -> tuple[ShopwareShop, dict[str, Any]]:
    """Return the registered shop a POST body names, and the body, parsed once and not yet verified."""
    shop_id, body = signing.claimed_shop(raw_body)
    return get_registered_shop(shop_id), body


def authenticate_event(raw_body: bytes, signature: str | None) -> tuple[ShopwareShop, dict[str, Any]]:
    """Return the shop that signed a lifecycle body, and the body; raise unless signed and fresh."""
    with shop_request_errors():
        shop, claimed = _claimed_shop(raw_body)
        body = signing.verify_webhook(raw_body, signature, shop_secrets(shop), clock=utcnow, parsed=claimed)
    return shop, body


def authenticate_webhook(raw_body: bytes, signature: str | None) -> tuple[WebhookShop, dict[str, Any]]:
    """Return the shop that signed a webhook body, and the body; raise unless signed and fresh."""
    with shop_request_errors():
        shop_id, claimed = signing.claimed_shop(raw_body)
        connection_id, _, current, previous, rotated_at, *versions = _registered_shop(shop_id)
        secrets = _decrypted_secrets(current, previous, rotated_at)
        body = signing.verify_webhook(raw_body, signature, secrets, clock=utcnow, parsed=claimed)
    return WebhookShop(connection_id, *versions), body


def authenticate_gateway(
    raw_body: bytes, signature: str | None
) -> tuple[checkout.GatewayShop, signing.ShopSecrets, dict[str, Any]]:
    """Return the shop that signed a checkout gateway request, its secrets (to sign the answer) and the payload;
    raise unless signed."""
    with shop_request_errors():
        shop_id, claimed = signing.claimed_shop(raw_body)
        shop, secrets = _gateway_shop(shop_id)
        payload = signing.verify_gateway(raw_body, signature, secrets, clock=utcnow, parsed=claimed)
    return shop, secrets, payload


def authenticate_action(raw_body: bytes, signature: str | None) -> tuple[ShopwareShop, dict[str, Any]]:
    """Return the shop that signed an action button request, and its body; raise unless signed and fresh."""
    with shop_request_errors():
        shop, claimed = _claimed_shop(raw_body)
        body = signing.verify_action(raw_body, signature, shop_secrets(shop), clock=utcnow, parsed=claimed)
    return shop, body


def authenticate_iframe(raw_query: bytes) -> tuple[ShopwareShop, signing.IframeRequest]:
    """Return the shop that signed an admin iframe query, and the query; raise unless signed and fresh."""
    with shop_request_errors():
        shop = get_registered_shop(signing.unverified_iframe_shop_id(raw_query))
        page = signing.verify_iframe_query(raw_query, shop_secrets(shop), clock=utcnow)
    return shop, page


# A version as Shopware and apps write them (6.6.10.0, 6.7.0.0-rc1, 1.2.0+build.5), within the columns' 50.
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,49}")


def note_versions(
    shop: ShopwareShop | WebhookShop, *, app_version: str | None, shopware_version: str | None
) -> None:
    """Remember the app and Shopware versions a shop reports (the checkout gateway needs Shopware ≥ 6.6.3).

    A value that is no version (a header may carry anything, NUL included) is not stored.
    """
    reported = {"app_version": app_version, "shopware_version": shopware_version}
    changed = {
        column: version
        for column, version in reported.items()
        if version and _VERSION.fullmatch(version) and getattr(shop, column) != version
    }
    if changed:
        # One UPDATE whether the shop is an entity or a webhook's plain values; a loaded entity takes the values.
        db.session.execute(
            sa.update(ShopwareShop).where(ShopwareShop.connection_id == shop.connection_id).values(**changed)
        )


# Lifecycle ------------------------------------------------------------------------------------------------------

_STATE_AFTER = {"app.installed": "installed", "app.activated": "active", "app.deactivated": "deactivated"}


def handle_lifecycle(shop: ShopwareShop, event: str, payload: Any, *, occurred_at: datetime) -> str:
    """Apply an app lifecycle event and return what happened.

    ``app.deleted`` purges only on ``keepUserData: false``; an absent flag (every shop before 6.6.9.0 sends
    ``[]``, whatever the merchant chose) retires the shop and keeps its data, never purges it.
    """
    shop_id = shop.connection.shop_id
    if event not in LIFECYCLE_EVENTS:
        logger.info("shopware lifecycle event %s of shop-id %s ignored", event, shop_id)
        return "ignored"
    # A late retry must not undo a newer event; installation and activation can share one second.
    if shop.lifecycle_at is not None and (
        occurred_at < shop.lifecycle_at or (occurred_at == shop.lifecycle_at and event == "app.installed")
    ):
        logger.info("shopware lifecycle event %s of shop-id %s is older than the last one", event, shop_id)
        return "stale"
    if event == "app.deleted":
        keep = DeletedPayloadSchema().load(payload if isinstance(payload, dict) else {})["keep_user_data"]
        if keep is False:
            purge_shop(shop)
            return "purged"
        _retire_shop(shop)
    else:
        shop.app_state = _STATE_AFTER.get(event, shop.app_state)
        shop.connection.status = "disabled" if shop.app_state == "deactivated" else "active"
    shop.lifecycle_at = occurred_at
    record_event(
        f"shopware.{event}",
        actor=f"shopware:{shop_id}",
        merchant_id=shop.connection.merchant_id,
        target_type="shop_connection",
        target_id=shop.connection_id,
        details={"app_state": shop.app_state},
    )
    db.session.flush()
    logger.info("shopware shop-id %s: %s, app state %s", shop_id, event, shop.app_state)
    return shop.app_state


def _retire_shop(shop: ShopwareShop) -> None:
    """Forget the secrets and credentials of an uninstalled app but keep the merchant's data for a reinstall."""
    shop.app_state = "deleted"
    # A reinstalled app registers without a previous secret, so none may be demanded of it.
    shop.secret_encrypted = shop.previous_secret_encrypted = shop.pending_secret_encrypted = None
    shop.pending_shop_url = shop.pending_since = shop.secret_rotated_at = None
    shop.connection.credentials_encrypted = None
    shop.connection.status = "disabled"


def purge_shop(shop: ShopwareShop) -> None:
    """Delete everything of the shop: its merchant (the database cascades), or only its connection if shared."""
    connection = shop.connection
    shop_id, merchant_id, connection_id = connection.shop_id, connection.merchant_id, connection.id
    db.session.flush()
    db.session.expunge(shop)
    db.session.expunge(connection)
    scope = _delete_connection_data(connection_id, merchant_id)
    # Kept outside the merchant, which no longer exists, so the purge itself stays on record.
    record_event(
        "shopware.shop_purged",
        actor=f"shopware:{shop_id}",
        target_type="shop_connection",
        target_id=connection_id,
        details={"shop_id": shop_id, "merchant_id": merchant_id, "deleted": scope},
    )
    db.session.flush()
    logger.info("shopware shop-id %s purged (%s %s)", shop_id, scope, merchant_id)


def _delete_connection_data(connection_id: int, merchant_id: int) -> str:
    """Delete a connection's merchant, or only the connection when the merchant has others; name which."""
    other_connections = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ShopConnection)
        .where(ShopConnection.merchant_id == merchant_id, ShopConnection.id != connection_id)
    )
    if other_connections:
        db.session.execute(sa.delete(ShopConnection).where(ShopConnection.id == connection_id))
        return "connection"
    # Every table of the merchant references it with ON DELETE CASCADE, so one statement removes it all.
    db.session.execute(sa.delete(Merchant).where(Merchant.id == merchant_id))
    return "merchant"


# Webhooks -------------------------------------------------------------------------------------------------------


def order_ids_of(event: str, payload: Any) -> list[str]:
    """Return the Shopware order ids an order event names (at most ``MAX_ORDERS_PER_WRITE``), first one first.

    Business events (``checkout.order.placed``, ``state_enter.order_transaction.state.*``) carry the order as
    ``payload.order``. ``order.written`` carries a list of writes (src/Core/Framework/Webhook/Hookable/
    HookableEntityWrittenEvent.php: ``entity``, ``operation``, ``primaryKey``, ``updatedFields``, ``versionId``),
    one per order a bulk edit or the Admin API's sync touched; every write of a live order counts (drafts of an
    edit are other versions), except one that changed only custom fields (ours, written back to the shop).
    ``order_transaction.written`` is not hookable; the ``state_enter`` events and the reconciliation poll cover
    what it would report.
    """
    if event not in ORDER_EVENTS:
        return []
    if event == ORDER_WRITTEN_EVENT:
        candidates = [
            write.get("primaryKey")
            for write in (payload if isinstance(payload, list) else [])
            if isinstance(write, dict)
            and write.get("entity") == "order"
            and write.get("versionId") in (None, LIVE_VERSION_ID)
            and not set(write.get("updatedFields") or ["?"]) <= _OWN_WRITE_FIELDS
        ]
    else:
        order = payload.get("order") if isinstance(payload, dict) else None
        candidates = [order.get("id") if isinstance(order, dict) else None]
    ids = dict.fromkeys(
        c.lower() for c in candidates if isinstance(c, str) and _SHOPWARE_ID.fullmatch(c.lower())
    )
    return list(ids)[:MAX_ORDERS_PER_WRITE]


def record_webhook(connection_id: int, event: str, event_id: str, payload: Any) -> int | None:
    """Store a webhook delivery of a shop connection for the worker; return its row id, or None when its eventId
    was seen before or its connection is gone (the request's transaction is then rolled back)."""
    order_ids = order_ids_of(event, payload)
    order_id = order_ids[0] if order_ids else None
    values = {
        "connection_id": connection_id,
        "event_id": event_id,
        "event_name": event,
        "order_id": order_id,
        "status": "pending" if order_id else "ignored",
        "processed_at": None if order_id else utcnow(),
        "attempts": 0,
        "received_at": utcnow(),
    }
    # One statement drops a retry (its eventId is stored) or stores the delivery, the same delivery arriving
    # twice at once included. Any other refusal (the connection deleted meanwhile) drops the request's
    # transaction: a savepoint around the INSERT, for that case alone, cost every delivery 0.5 ms of CPU (and
    # PostgreSQL two round trips).
    connection = db.session.connection()
    try:
        stored = _event_insert(connection.dialect.name).rows(connection, values)
    except sa.exc.IntegrityError:
        db.session.rollback()
        logger.info("shopware event %s refused: its connection %s is gone", event_id, connection_id)
        return None
    if not stored:
        logger.info("shopware event %s of connection %s is a duplicate", event_id, connection_id)
        return None
    row_id = stored[0][0]
    if order_id is None:
        logger.info("shopware event %s (%s) names no order; acknowledged", event_id, event)
    elif event == ORDER_PLACED_EVENT:
        checkout.link_placed_order(connection_id, order_id, payload)
    # The event row hands its first order on; an order.written naming more queues the others' re-fetch here,
    # which is all the worker would do for them (only placed and payment-method events do more).
    for other in order_ids[1:]:
        request_order_sync(connection_id, other, reason=event)
    return row_id


# Every column of a stored event but its id and last_error (none yet).
_EVENT_COLUMNS = (
    "connection_id",
    "event_id",
    "event_name",
    "order_id",
    "status",
    "processed_at",
    "attempts",
    "received_at",
)


@functools.cache
def _event_insert(dialect: str) -> PreparedStatement:
    """Return the insert of a webhook event that does nothing for a stored eventId, compiled once per database."""
    insert = (
        dialect_insert(ShopwareEvent.__table__, dialect)
        .on_conflict_do_nothing(index_elements=["connection_id", "event_id"])
        .returning(ShopwareEvent.id)
    )
    return PreparedStatement(insert, column_keys=_EVENT_COLUMNS)


def dispatch_order_events(limit: int = DISPATCH_BATCH) -> str:
    """Queue a re-fetch of the order each pending event names, oldest first; a failing event is retried."""
    events = db.session.scalars(
        sa.select(ShopwareEvent)
        .where(ShopwareEvent.status == "pending")
        .order_by(ShopwareEvent.id)
        .limit(limit)
    ).all()
    handed = failed = 0
    for event in events:
        try:
            with db.session.begin_nested():
                if event.event_name == ORDER_PLACED_EVENT:
                    write_risk_check_link(event.connection_id, event.order_id)
                request_order_sync(event.connection_id, event.order_id, reason=event.event_name)
            # Apart, so a shop that cannot be reached now delays the review (retried), not the order's sync.
            if event.event_name in after_order.AFTER_ORDER_EVENTS:
                with db.session.begin_nested():
                    after_order.review_order(event.connection_id, event.order_id, reason=event.event_name)
        # Linking, queueing or reviewing may fail in any way; the event is retried next round and the others go on.
        except Exception as error:
            event.attempts += 1
            event.last_error = f"{type(error).__name__}: {error}"[:500]
            failed += 1
            if event.attempts >= MAX_DISPATCH_ATTEMPTS:
                event.status = "failed"
                event.processed_at = utcnow()
                logger.warning("shopware event %s gave up after %s attempts", event.id, event.attempts)
            continue
        event.status = "done"
        event.processed_at = utcnow()
        handed += 1
    return f"{handed} handed on, {failed} failed"


def write_risk_check_link(connection_id: int, order_id: str) -> bool:
    """Write the gateway's risk check id into a placed order's custom fields; return whether there was one.

    Runs before the order is synchronised, so ingestion reads ``claimbridge_risk_check_id`` from the order.
    """
    decision = db.session.scalar(
        sa.select(ShopwareGatewayDecision)
        .where(
            ShopwareGatewayDecision.connection_id == connection_id,
            ShopwareGatewayDecision.order_id == order_id,
            ShopwareGatewayDecision.linked_at.is_(None),
        )
        .limit(1)
    )
    if decision is None:
        return False
    connection = db.session.get(ShopConnection, connection_id)
    if connection is None:
        raise NotFoundError(f"connection {connection_id} does not exist")
    connector = connector_for(connection)
    try:
        connector.write_case_fields(order_id, {RISK_CHECK_FIELD: decision.risk_check_id})
    finally:
        connector.close()
    decision.linked_at = utcnow()
    return True


def prune_shopware_records(now: datetime | None = None) -> str:
    """Delete finished events after the retention period and registrations that were never confirmed."""
    moment = now or utcnow()
    events = db.session.execute(
        sa.delete(ShopwareEvent).where(
            ShopwareEvent.status != "pending", ShopwareEvent.received_at < moment - EVENT_RETENTION
        )
    ).rowcount
    abandoned = db.session.execute(
        sa.select(ShopConnection.id, ShopConnection.merchant_id)
        .join(ShopwareShop, ShopwareShop.connection_id == ShopConnection.id)
        .where(
            ShopwareShop.registered_at.is_(None),
            ShopwareShop.created_at < moment - ABANDONED_REGISTRATION_AGE,
        )
    ).all()
    for connection_id, merchant_id in abandoned:
        _delete_connection_data(connection_id, merchant_id)
    decisions = checkout.prune_gateway_decisions(moment)
    return f"{events or 0} events, {len(abandoned)} abandoned registrations, {decisions} gateway decisions"


# Admin module page ------------------------------------------------------------------------------------------------


def orders_for_handover_page(shop: ShopwareShop, order_ids: list[str]) -> list[str]:
    """Return the selected Shopware orders the handover page has something for: a proposal or a case."""
    connection = shop.connection
    receivables = db.session.execute(
        sa.select(Receivable.external_id, Receivable.number, Receivable.state).where(
            Receivable.connection_id == connection.id, Receivable.external_id.in_(order_ids)
        )
    ).all()
    if not receivables:
        return []
    proposed = {row.order_number for row in list_handover_rows(connection.merchant_id)}
    found = {
        external_id
        for external_id, number, state in receivables
        if number in proposed or state == State.IN_COLLECTION.value
    }
    return [order_id for order_id in order_ids if order_id in found]


# Reattaching a retired shop's data -------------------------------------------------------------------------------

REATTACH_SETTING = "shopware_reattach"
REATTACH_LIFETIME = timedelta(days=7)
# What of a registration moves onto the retired shop's connection when the merchant confirms it is theirs.
_REGISTRATION_FIELDS = (
    "secret_encrypted",
    "pending_secret_encrypted",
    "pending_shop_url",
    "pending_since",
    "previous_secret_encrypted",
    "secret_rotated_at",
    "dual_signature",
    "app_state",
    "lifecycle_at",
    "app_version",
    "shopware_version",
    "registered_at",
)


class InvalidReattachCodeError(UserValueError):
    code = "invalid_reattach_code"


def retired_shop_of(merchant_id: int) -> ShopwareShop | None:
    """Return the merchant's newest uninstalled Shopware shop whose data is kept, if any."""
    return db.session.scalar(
        sa.select(ShopwareShop)
        .join(ShopConnection, ShopwareShop.connection_id == ShopConnection.id)
        .where(ShopConnection.merchant_id == merchant_id, ShopwareShop.app_state == "deleted")
        .order_by(ShopwareShop.id.desc())
        .limit(1)
    )


def admin_addresses(merchant_id: int) -> list[tuple[ShopConnection, str | None]]:
    """Return the merchant's Shopware connections with the Administration origin confirmed for each."""
    rows = db.session.execute(
        sa.select(ShopConnection, ShopwareShop.admin_origin)
        .join(ShopwareShop, ShopwareShop.connection_id == ShopConnection.id)
        .where(ShopConnection.merchant_id == merchant_id, ShopwareShop.app_state != "deleted")
        .order_by(ShopConnection.id)
    )
    return [(connection, origin) for connection, origin in rows]


def admin_origin_of(connection_id: int | None) -> str | None:
    """Return the Administration origin the merchant confirmed for a Shopware connection, if any."""
    if connection_id is None:
        return None
    return db.session.scalar(
        sa.select(ShopwareShop.admin_origin).where(ShopwareShop.connection_id == connection_id)
    )


def set_admin_addresses(merchant_id: int, addresses: dict[int, str], *, actor: str) -> None:
    """Confirm (or, with an empty address, forget) the Administration origin of the merchant's Shopware shops.

    Only an http(s) origin is kept; a shop's own origin needs no confirming. Raise UserValueError naming each
    field (``/admin_address/<connection id>``) whose address is not one.
    """
    shops = {
        shop.connection_id: shop
        for shop in db.session.scalars(
            sa.select(ShopwareShop)
            .join(ShopConnection, ShopwareShop.connection_id == ShopConnection.id)
            .where(ShopConnection.merchant_id == merchant_id)
        )
    }
    problems: dict[str, list[str]] = {}
    for connection_id, address in addresses.items():
        shop = shops.get(connection_id)
        if shop is None:
            raise NotFoundError("no such Shopware connection")
        origin = origin_of(address.strip()) if address.strip() else None
        if address.strip() and (origin is None or len(origin) > 300):
            problems[f"/admin_address/{connection_id}"] = [
                "give the address the Administration opens at, such as https://admin.example.com"
            ]
            continue
        if origin == shop.admin_origin:
            continue
        record_event(
            "shopware.admin_address_set",
            actor=actor,
            merchant_id=merchant_id,
            target_type="shop_connection",
            target_id=connection_id,
            details={"before": shop.admin_origin, "after": origin},
        )
        shop.admin_origin = origin
    if problems:
        raise UserValueError("an Administration address is not valid", details=problems)
    db.session.flush()


def confirmed_frame_origin(shop: ShopwareShop, referer: str | None) -> str | None:
    """Return the Referer's origin when the merchant confirmed it as this shop's Administration, else None.

    Any page may link to a signed module URL it got hold of; only a confirmed origin may then frame the console
    (the shop's own origins always may: ``console.sessions.frame_origins``).
    """
    origin = origin_of(referer)
    return origin if origin is not None and origin == shop.admin_origin else None


def has_receivables(merchant_id: int) -> bool:
    """Tell whether the merchant holds any receivable (one EXISTS): a registration that does takes over nothing."""
    return bool(db.session.scalar(sa.select(sa.exists().where(Receivable.merchant_id == merchant_id))))


def _registration_leftovers(connection_id: int, merchant_id: int) -> dict[str, int]:
    """Count what a registration made before it was reattached: risk checks, gateway decisions, a risk policy."""
    return {
        "risk_checks": db.session.scalar(
            sa.select(sa.func.count()).select_from(RiskCheck).where(RiskCheck.merchant_id == merchant_id)
        ),
        "gateway_decisions": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ShopwareGatewayDecision)
            .where(ShopwareGatewayDecision.connection_id == connection_id)
        ),
        "risk_policies": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RiskPolicyRecord)
            .where(RiskPolicyRecord.merchant_id == merchant_id)
        ),
    }


def issue_reattach_code(merchant_id: int, *, actor: str, now: datetime | None = None) -> str:
    """Return a new one-time code (valid a week) that lets a new registration take over the retired shop's data.

    Shown only to whoever reaches the old shop's data (its console or an operator's CLI), never to the shop
    that registers: holding the app secret is not enough to take over a merchant's receivables (issue 16).
    Only the code's hash is kept; a new code replaces the last one.
    """
    retired = retired_shop_of(merchant_id)
    if retired is None:
        raise ConflictError("this merchant has no uninstalled Shopware shop whose data is kept")
    merchant = db.session.get(Merchant, merchant_id)
    code = f"{merchant_id}-{new_secret(12)}"
    expires_at = (now or utcnow()) + REATTACH_LIFETIME
    merchant.settings = {
        **(merchant.settings or {}),
        REATTACH_SETTING: {
            "hash": hash_secret(code),
            "connection_id": retired.connection_id,
            "expires_at": expires_at.isoformat(),
        },
    }
    record_event(
        "shopware.reattach_code_issued",
        actor=actor,
        merchant_id=merchant_id,
        target_type="shop_connection",
        target_id=retired.connection_id,
        details={"shop_url": retired.connection.shop_url, "expires_at": expires_at.isoformat()},
    )
    db.session.flush()
    return code


def reattach_retired_shop(
    merchant_id: int, connection_id: int, code: str, *, actor: str, now: datetime | None = None
) -> ShopConnection:
    """Move a new registration onto the retired shop a code names, and drop the registration's empty merchant.

    The shop keeps its new secret and keys; from now on its orders, webhooks and console reach the retired
    shop's connection and merchant with all their data. Refused when the code is wrong or expired, and when
    the new registration already holds receivables of its own (nothing is merged).
    """
    connection = db.session.get(ShopConnection, connection_id)
    if connection is None or connection.merchant_id != merchant_id or connection.platform != PLATFORM:
        raise NotFoundError("no such Shopware connection")
    new_shop = db.session.scalar(sa.select(ShopwareShop).filter_by(connection_id=connection_id))
    if new_shop is None or new_shop.secret_encrypted is None:
        raise ConflictError("this shop has not completed its registration")
    parsed = _REATTACH_CODE.fullmatch(code.strip())
    old_merchant = db.session.get(Merchant, int(parsed.group(1))) if parsed else None
    entry = ((old_merchant.settings or {}).get(REATTACH_SETTING) if old_merchant else None) or {}
    if (
        not entry
        or datetime.fromisoformat(entry["expires_at"]) <= (now or utcnow())
        or not secret_matches(code.strip(), entry["hash"])
    ):
        raise InvalidReattachCodeError(
            "this code is not valid or has expired; create a new one in the old shop"
        )
    if old_merchant.id == merchant_id:
        raise ConflictError("this shop's data is this merchant's already")
    retired = db.session.scalar(sa.select(ShopwareShop).filter_by(connection_id=entry["connection_id"]))
    if retired is None or retired.app_state != "deleted" or retired.connection.merchant_id != old_merchant.id:
        raise ConflictError("the shop this code was made for is no longer uninstalled")
    if has_receivables(merchant_id):
        raise ConflictError(
            "this installation has receivables of its own already; ask your operator to move data"
        )
    shop_id, old = connection.shop_id, retired.connection
    values = {name: getattr(new_shop, name) for name in _REGISTRATION_FIELDS}
    moved = {
        "shop_url": connection.shop_url,
        "credentials_encrypted": connection.credentials_encrypted,
        "status": connection.status,
    }
    connection.shop_id = None  # the shop id is unique: free it before the retired connection takes it
    db.session.flush()
    db.session.expunge(new_shop)
    db.session.expunge(connection)
    # What the registration did before the merchant reattached goes with it; named in the audit event below.
    dropped = _registration_leftovers(connection_id, merchant_id)
    scope = _delete_connection_data(connection_id, merchant_id)
    if scope == "connection":  # the merchant stays with its other shops, and keeps its checks and policy
        dropped = {"gateway_decisions": dropped["gateway_decisions"]}
    old.shop_id = shop_id
    for name, value in moved.items():
        setattr(old, name, value)
    for name, value in values.items():
        setattr(retired, name, value)
    old_merchant.settings = {k: v for k, v in (old_merchant.settings or {}).items() if k != REATTACH_SETTING}
    record_event(
        "shopware.retired_shop_reattached",
        actor=actor,
        merchant_id=old_merchant.id,
        target_type="shop_connection",
        target_id=old.id,
        details={
            "shop_id": shop_id,
            "shop_url": old.shop_url,
            "registration_merchant_id": merchant_id,
            "dropped": scope,
            "dropped_rows": dropped,
        },
    )
    db.session.flush()
    logger.info("shopware shop-id %s: retired shop %s reattached by %s", shop_id, old.id, actor)
    return old


def _gateway_decisions_of(check_ids: list[str]) -> list[dict[str, Any]]:
    """Return the checkout decisions made from these risk checks, with the shop's customer id (Art. 15 GDPR)."""
    decisions = db.session.scalars(
        sa.select(ShopwareGatewayDecision)
        .where(ShopwareGatewayDecision.risk_check_id.in_(check_ids))
        .order_by(ShopwareGatewayDecision.id)
    )
    fields = ("customer_id", "order_id", "amount", "hidden", "created_at")
    return [{name: getattr(decision, name) for name in fields} for decision in decisions]


register_check_linked_data("shopware_gateway_decisions", _gateway_decisions_of)
