"""URL rules of the WooCommerce endpoints: webhooks and key callback (called by shops), connect sessions (API)."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from backend.woocommerce import views
from backend.woocommerce.schemas import ConnectSessionRequestSchema, ConnectSessionSchema
from connectors.shops.woocommerce import WEBHOOK_TOPICS

bp = Blueprint("woocommerce", __name__, url_prefix="/woocommerce")
bp.add_url_rule("/webhooks/<int:connection_id>", view_func=views.receive_webhook, methods=["POST"])
# Only the topics ClaimBridge registers have a delivery URL: any other path is a 404 before the database is used.
bp.add_url_rule(
    f"/webhooks/<int:connection_id>/<any({', '.join(WEBHOOK_TOPICS)}):topic>",
    view_func=views.receive_webhook,
    methods=["POST"],
)
bp.add_url_rule("/auth/callback", view_func=views.receive_auth_callback, methods=["POST"])

blp = ApiBlueprint(
    "woocommerce_connect",
    __name__,
    url_prefix="/api/v1",
    description="Connecting a WooCommerce shop in one click (WooCommerce's /wc-auth/v1/authorize)",
)
blp.route("/woocommerce/connect-sessions", methods=["POST"])(
    blp.arguments(ConnectSessionRequestSchema)(
        blp.response(201, ConnectSessionSchema)(views.create_connect_session)
    )
)
