"""Merchants and their shop connections."""

from __future__ import annotations

import logging

from backend.audit.services import record_event
from backend.errors import NotFoundError, UserValueError
from backend.extensions import db
from backend.merchants.models import Merchant, ShopConnection

logger = logging.getLogger(__name__)


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
