"""URL rules of the WooCommerce webhook endpoint (the URL is registered in each shop)."""

from flask import Blueprint

from backend.woocommerce import views

bp = Blueprint("woocommerce", __name__, url_prefix="/woocommerce")
bp.add_url_rule("/webhooks/<int:connection_id>", view_func=views.receive_webhook, methods=["POST"])
