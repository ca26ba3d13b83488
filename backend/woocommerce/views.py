"""WooCommerce webhook deliveries: verify, queue, answer 200 at once."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from backend.extensions import db
from backend.woocommerce import services


def receive_webhook(connection_id: int) -> ResponseReturnValue:
    """Take one webhook delivery for a connection (pings included)."""
    outcome = services.receive_webhook(connection_id, request.headers, request.get_data(cache=False))
    db.session.commit()
    return jsonify(status=outcome)
