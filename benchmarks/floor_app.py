"""The floor for benchmarks/risk_check_http.py: the least a durable, authenticated write costs on this stack.

Flask + Flask-SQLAlchemy, a bearer-token lookup (the token's SHA-256 hash, one SELECT joined to its client, as
the app stores tokens), marshmallow validation of the same body with the risk check's own request schema, one
INSERT of the validated body, commit; nothing else. It runs on the app's database (``FLOOR_DATABASE_URL``),
with the app's SQLite durability settings, under the same gunicorn configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from flask_sqlalchemy import SQLAlchemy
from marshmallow import ValidationError

from backend.config import DEFAULT_POOL_SIZE
from backend.risk.schemas import RiskCheckRequestSchema

metadata = sa.MetaData()
floor_writes = sa.Table(
    "floor_writes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("merchant_id", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_floor_writes_merchant", "merchant_id", "created_at"),
)
TOKEN_QUERY = sa.text(
    "SELECT t.merchant_id, t.scope, t.expires_at, t.revoked_at, c.revoked_at AS client_revoked_at"
    " FROM access_tokens t JOIN api_clients c ON c.id = t.client_pk WHERE t.token_hash = :token_hash"
).columns(expires_at=sa.DateTime(timezone=True))
SCHEMA = RiskCheckRequestSchema()


def _sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    # The app's SQLite settings (backend/app.py): WAL, synchronous=NORMAL, a busy timeout.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _aware(moment: datetime) -> datetime:
    # SQLite keeps no zone; the app stores UTC (backend/types.py UTCDateTime).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_app(database_url: str) -> Flask:
    """Build the floor app on ``database_url`` (its table is created by ``create_tables``)."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    if not database_url.startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": DEFAULT_POOL_SIZE}  # served as the app is
    db = SQLAlchemy(app)
    if database_url.startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect", _sqlite_durability)

    def error(status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    @app.post("/writes")
    def write() -> Response:
        """Authenticate the bearer token, validate the body, insert it, commit."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error(401, {"error": "missing_authorization"})
        grant = db.session.execute(
            TOKEN_QUERY, {"token_hash": hashlib.sha256(token.encode()).hexdigest()}
        ).first()
        now = datetime.now(UTC)
        if grant is None or grant.revoked_at or grant.client_revoked_at or _aware(grant.expires_at) <= now:
            return error(401, {"error": "invalid_token"})
        if "risk:check" not in grant.scope.split():
            return error(403, {"error": "insufficient_scope"})
        try:
            SCHEMA.load(request.get_json())
        except ValidationError as invalid:
            return error(422, {"error": "validation_error", "details": invalid.normalized_messages()})
        row_id = str(uuid.uuid4())
        db.session.execute(
            floor_writes.insert(),
            {"id": row_id, "merchant_id": grant.merchant_id, "body": request.get_json(), "created_at": now},
        )
        db.session.commit()
        return Response(json.dumps({"id": row_id}), status=201, mimetype="application/json")

    return app


def create_tables(database_url: str) -> None:
    """Create the floor's table (before gunicorn starts, so its workers do not race to create it)."""
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()


if "FLOOR_DATABASE_URL" in os.environ:
    app = create_app(os.environ["FLOOR_DATABASE_URL"])
