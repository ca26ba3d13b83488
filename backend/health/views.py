"""Health check and a readable page of the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask.typing import ResponseReturnValue

from backend.dunning.services import base_rate_status
from backend.extensions import api, db

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


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        for method, operation in methods.items():
            if method == "parameters":
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": operation.get("tags", []),
                    "responses": sorted(operation.get("responses", {}).items()),
                    "body": operation.get("requestBody", {})
                    .get("content", {})
                    .get("application/json", {})
                    .get("schema", {})
                    .get("$ref", "")
                    .rsplit("/", 1)[-1],
                }
            )
    return operations


def docs() -> ResponseReturnValue:
    """Render the API reference as one self-contained HTML page (no CDN needed)."""
    spec = api.spec.to_dict()
    schemas = spec.get("components", {}).get("schemas", {})
    return render_template("docs.html", spec=spec, operations=_operations(spec), schemas=schemas)
