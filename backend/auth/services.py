"""API clients and their tokens: creation, revocation, cleanup."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.audit.services import record_event
from backend.auth.models import AccessToken
from backend.crypto import hash_secret, new_secret
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import db, utcnow
from backend.merchants.models import SCOPES, ApiClient, Merchant

logger = logging.getLogger(__name__)

EXPIRED_TOKEN_GRACE = timedelta(days=1)
CLIENT_ID_BYTES = 12
_CLIENT_ID = re.compile(f"cb_[0-9a-f]{{{2 * CLIENT_ID_BYTES}}}")


@dataclass(frozen=True)
class NewClient:
    """A freshly created client; the plain secret exists only here and is shown once."""

    client: ApiClient
    client_secret: str


def parse_scopes(scopes: str | list[str]) -> list[str]:
    """Split and validate a scope list; raise UserValueError naming unknown scopes."""
    requested = scopes.split() if isinstance(scopes, str) else list(scopes)
    unknown = sorted(set(requested) - set(SCOPES))
    if unknown:
        raise UserValueError(
            f"unknown scope(s): {', '.join(unknown)}; valid scopes: {', '.join(SCOPES)}",
            details={"scopes": unknown},
        )
    if not requested:
        raise UserValueError("at least one scope is required", details={"valid": list(SCOPES)})
    return list(dict.fromkeys(requested))


def is_client_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of the ids ``create_client`` issues: ``cb_`` and hex digits."""
    return _CLIENT_ID.fullmatch(value) is not None


def create_client(
    merchant_id: int,
    scopes: str | list[str],
    *,
    name: str = "",
    connection_id: int | None = None,
    actor: str = "operator",
) -> NewClient:
    """Create an API client for a merchant; its secret is stored only as a hash."""
    if db.session.get(Merchant, merchant_id) is None:
        raise NotFoundError(f"merchant {merchant_id} does not exist")
    secret = new_secret(32)
    client = ApiClient(
        client_id="cb_" + secrets.token_hex(CLIENT_ID_BYTES),
        secret_hash=hash_secret(secret),
        merchant_id=merchant_id,
        connection_id=connection_id,
        name=name,
        scope=" ".join(parse_scopes(scopes)),
    )
    db.session.add(client)
    db.session.flush()
    record_event(
        "client.created",
        actor=actor,
        merchant_id=merchant_id,
        target_type="api_client",
        target_id=client.client_id,
        details={"scope": client.scope, "name": name},
    )
    logger.info("api client %s created for merchant %s", client.client_id, merchant_id)
    return NewClient(client=client, client_secret=secret)


def revoke_client(client_id: str, *, actor: str = "operator") -> ApiClient:
    """Revoke a client and, with it, every token it holds."""
    client = db.session.scalar(db.select(ApiClient).filter_by(client_id=client_id))
    if client is None:
        raise NotFoundError(f"client {client_id} does not exist")
    now = utcnow()
    if client.revoked_at is None:
        client.revoked_at = now
        _revoke_tokens(client, now)
        record_event(
            "client.revoked",
            actor=actor,
            merchant_id=client.merchant_id,
            target_type="api_client",
            target_id=client.client_id,
        )
        logger.info("api client %s revoked", client.client_id)
    return client


def _revoke_tokens(client: ApiClient, now: datetime) -> None:
    db.session.execute(
        sa.update(AccessToken)
        .where(AccessToken.client_pk == client.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def rotate_client_secret(client_id: str, *, actor: str = "operator") -> NewClient:
    """Give a client a new secret; the old one stops working and the tokens issued with it are revoked."""
    client = db.session.scalar(db.select(ApiClient).filter_by(client_id=client_id).with_for_update())
    if client is None:
        raise NotFoundError(f"client {client_id} does not exist")
    if client.revoked_at is not None:
        raise ConflictError(f"client {client_id} is revoked; create a new one")
    secret = new_secret(32)
    client.secret_hash = hash_secret(secret)
    _revoke_tokens(client, utcnow())
    record_event(
        "client.secret_rotated",
        actor=actor,
        merchant_id=client.merchant_id,
        target_type="api_client",
        target_id=client.client_id,
    )
    logger.info("api client %s has a new secret", client.client_id)
    return NewClient(client=client, client_secret=secret)


def list_clients(merchant_id: int | None = None) -> list[ApiClient]:
    """List clients, optionally of one merchant."""
    query = db.select(ApiClient).order_by(ApiClient.id)
    if merchant_id is not None:
        query = query.filter_by(merchant_id=merchant_id)
    return list(db.session.scalars(query))


def purge_expired_tokens(now: datetime | None = None) -> int:
    """Delete tokens that expired (or were revoked) more than a day ago; return how many."""
    cutoff = (now or utcnow()) - EXPIRED_TOKEN_GRACE
    result = db.session.execute(
        sa.delete(AccessToken).where(sa.or_(AccessToken.expires_at < cutoff, AccessToken.revoked_at < cutoff))
    )
    return result.rowcount or 0
