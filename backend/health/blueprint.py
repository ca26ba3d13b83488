"""URL rules for liveness and API documentation."""

from flask import Blueprint

from backend.health import views

bp = Blueprint("health", __name__)
bp.add_url_rule("/healthz", view_func=views.healthz, methods=["GET"])
bp.add_url_rule("/docs", view_func=views.docs, methods=["GET"])
