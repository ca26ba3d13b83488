"""URL rules of the Shopware app server (paths are fixed by the manifest)."""

from flask import Blueprint

from backend.shopware import manifest, views

bp = Blueprint("shopware", __name__)
bp.add_url_rule(manifest.REGISTRATION_PATH, view_func=views.register, methods=["GET"])
bp.add_url_rule(manifest.CONFIRMATION_PATH, view_func=views.confirm_registration, methods=["POST"])
bp.add_url_rule(manifest.LIFECYCLE_PATH, view_func=views.lifecycle, methods=["POST"])
bp.add_url_rule(manifest.WEBHOOK_PATH, view_func=views.webhook, methods=["POST"])
bp.add_url_rule(manifest.CHECKOUT_GATEWAY_PATH, view_func=views.checkout_gateway, methods=["POST"])
bp.add_url_rule(manifest.HANDOVER_ACTION_PATH, view_func=views.handover_action, methods=["POST"])
bp.add_url_rule(manifest.ADMIN_MODULE_PATH, view_func=views.admin_handovers, methods=["GET"])
bp.add_url_rule(manifest.PRIVACY_PATH, view_func=views.privacy, methods=["GET"])
