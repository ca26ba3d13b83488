"""Health check."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask.typing import ResponseReturnValue

from backend.dunning.rate_store import base_rate_status
from backend.extensions import db

logger = logging.getLogger(__name__)


def healthz() -> ResponseReturnValue:
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        logger.warning("health check: database unreachable: %s", type(error).__name__)
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    # A missing base rate does not make the service unavailable (no interest is claimed for those days),
    # but operators must see it: "status" says "warning" and "base_rate" says what to do.
    base_rate = base_rate_status()
    status = "ok" if base_rate["status"] == "ok" else "warning"
    return {
        "status": status,
        "database": "ok",
        "backend": db.engine.dialect.name,
        "base_rate": base_rate,
    }, 200
