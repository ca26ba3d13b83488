"""WooCommerce's one-click connect: a one-time state for ``/wc-auth/v1/authorize`` and the keys it posts back.

1. The plugin asks for a connect session (``start_connect_session``): a random state, kept only as a hash,
   valid for ``CONNECT_TTL``, bound to the merchant and the shop URL.
2. The merchant approves the key request in the shop; WooCommerce POSTs the keys to our callback with the
   state as ``user_id`` (no shop URL, no signature: the state is the only proof). ``receive_keys`` checks
   the state once, stores the keys encrypted and the view answers 200 at once (any other answer makes
   WooCommerce delete the key).
3. ``complete_connect_session`` then verifies the keys against the shop and registers the webhooks through
   ``create_connection``, the same path as an API-created connection. It runs right after the callback's
   answer went out and, for a process that died in between, from the worker (``complete_received_sessions``).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.crypto import decrypt_text, encrypt_text, hash_secret, new_secret
from backend.errors import AppError, NotFoundError, UserValueError
from backend.extensions import db, utcnow
from backend.merchants.services import create_connection, get_merchant
from backend.types import MAX_ROW_ID
from backend.untrusted import UNSAFE
from backend.woocommerce.models import WooCommerceConnectSession
from backend.woocommerce.services import CONNECTION_STEPS
from connectors.errors import UnsafeURLError
from connectors.ssrf import validate_public_url

logger = logging.getLogger(__name__)

CONNECT_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 5
KEEP_ENDED = timedelta(days=1)
# includes/class-wc-auth.php create_keys(): 'ck_' / 'cs_' followed by wc_rand_hash() (40 hex digits in 7.9);
# a little leeway for other versions, none for anything that is not a hex key.
_CONSUMER_KEY = re.compile(r"^ck_[0-9a-f]{32,64}$")
_CONSUMER_SECRET = re.compile(r"^cs_[0-9a-f]{32,64}$")


class InvalidConnectStateError(AppError):
    """The callback's state is unknown, used or expired (WooCommerce then deletes the key)."""

    http_status = 400
    code = "invalid_state"


def callback_url() -> str:
    """Return the URL WooCommerce posts the keys to (below the backend's public URL)."""
    return f"{current_app.config['CLAIMBRIDGE_PUBLIC_URL'].rstrip('/')}/woocommerce/auth/callback"


def start_connect_session(
    merchant_id: int, shop_url: str, *, actor: str
) -> tuple[WooCommerceConnectSession, str]:
    """Open a connect session for the merchant's shop; return it and the one-time state (shown only now)."""
    get_merchant(merchant_id)
    state = new_secret()
    session = WooCommerceConnectSession(
        merchant_id=merchant_id,
        shop_url=_checked_shop_url(shop_url),
        state_hash=hash_secret(state),
        status="open",
        expires_at=utcnow() + CONNECT_TTL,
    )
    db.session.add(session)
    db.session.flush()
    record_event(
        "woocommerce.connect_started",
        actor=actor,
        merchant_id=merchant_id,
        target_type="woocommerce_connect_session",
        target_id=session.id,
        details={"shop_url": session.shop_url},
    )
    return session, state


def _checked_shop_url(shop_url: str) -> str:
    # The connection is created with the same check; asking now tells the merchant before the shop does.
    try:
        return validate_public_url(
            shop_url.strip().rstrip("/"), current_app.config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"]
        )
    except UnsafeURLError as error:
        raise UserValueError(
            f"The shop URL is not allowed: {error.message}",
            code="unsafe_url",
            details={"/shop_url": [error.message]},
        ) from error


def receive_keys(body: Any) -> WooCommerceConnectSession:
    """Take the keys WooCommerce posts for a state: once, before it expires, with read/write permission."""
    state = body.get("user_id") if isinstance(body, dict) else None
    if isinstance(state, int) and not isinstance(state, bool):
        state = str(state)
    if not isinstance(state, str) or not state:
        raise InvalidConnectStateError("The callback carries no connect state (user_id).")
    # The body is read whatever its content type, so the request checks may not have looked for unsafe text: a
    # state holding such a character (a lone surrogate cannot even be hashed) is none we issued.
    session = (
        None
        if UNSAFE.search(state)
        else db.session.scalar(
            sa.select(WooCommerceConnectSession)
            .where(WooCommerceConnectSession.state_hash == hash_secret(state))
            .with_for_update()
        )
    )
    if session is None or session.status != "open" or session.expires_at <= utcnow():
        raise InvalidConnectStateError(
            "This connect session is unknown, used or expired; press Connect again."
        )
    key, secret = body.get("consumer_key"), body.get("consumer_secret")
    problems = {}
    if not isinstance(key, str) or not _CONSUMER_KEY.match(key):
        problems["/consumer_key"] = ["not a WooCommerce consumer key"]
    if not isinstance(secret, str) or not _CONSUMER_SECRET.match(secret):
        problems["/consumer_secret"] = ["not a WooCommerce consumer secret"]
    if body.get("key_permissions") != "read_write":
        problems["/key_permissions"] = ["ClaimBridge needs read_write"]
    if problems:
        session.status = "failed"
        session.error = "The shop posted keys ClaimBridge cannot use."
        raise UserValueError("The posted keys cannot be used.", details=problems)
    # Only kept for reference, and the shop deletes the key on any answer but 200: an id the INTEGER column
    # cannot hold (the shop's is a BIGINT UNSIGNED) is dropped, never a reason to refuse usable keys.
    key_id = body.get("key_id")
    fits = isinstance(key_id, int) and not isinstance(key_id, bool) and 0 < key_id <= MAX_ROW_ID
    session.key_id = key_id if fits else None
    session.credentials_encrypted = encrypt_text(json.dumps({"consumer_key": key, "consumer_secret": secret}))
    session.status = "received"
    logger.info("woocommerce connect session %s: keys received for %s", session.id, session.shop_url)
    return session


def complete_connect_session(session_id: int) -> WooCommerceConnectSession:
    """Verify a session's keys against the shop and connect it (webhooks included); commit the outcome."""
    session = db.session.get(WooCommerceConnectSession, session_id)
    if session is None:
        raise NotFoundError(f"connect session {session_id} not found")
    if session.status != "received" or session.credentials_encrypted is None:
        return session
    session.attempts += 1
    credentials = json.loads(decrypt_text(session.credentials_encrypted))
    try:
        connection = create_connection(
            session.merchant_id,
            platform="woocommerce",
            shop_url=session.shop_url,
            credentials=credentials,
            actor=f"woocommerce-connect:{session.id}",
            steps=CONNECTION_STEPS,
        )
    except AppError as error:
        db.session.rollback()
        session = db.session.get(WooCommerceConnectSession, session_id)
        session.error = error.message
        retryable = error.http_status >= 500 and session.attempts < MAX_ATTEMPTS
        if not retryable:
            session.status = "failed"
            session.credentials_encrypted = None
        logger.warning("woocommerce connect session %s failed: %s", session.id, error.message)
    else:
        session.status = "connected"
        session.connection_id = connection.id
        session.credentials_encrypted = None  # They live on the connection now.
        session.error = None
        logger.info("woocommerce connect session %s: connection %s active", session.id, connection.id)
    db.session.commit()
    return session


def complete_received_sessions() -> int:
    """Complete sessions whose keys arrived but were not verified (a process died), drop stale ones.

    Return how many were completed. Sessions that never received keys, or ended, are deleted a day later.
    """
    db.session.execute(
        sa.delete(WooCommerceConnectSession).where(
            WooCommerceConnectSession.status != "received",
            WooCommerceConnectSession.expires_at < utcnow() - KEEP_ENDED,
        )
    )
    ids = db.session.scalars(
        sa.select(WooCommerceConnectSession.id).where(WooCommerceConnectSession.status == "received")
    ).all()
    db.session.commit()
    for session_id in ids:
        complete_connect_session(session_id)
    return len(ids)
