"""URL rule for the Prometheus scrape (outside the JSON API and its OAuth2 tokens)."""

from flask import Blueprint

from backend.ops import views

bp = Blueprint("ops", __name__)
bp.add_url_rule("/metrics", view_func=views.metrics, methods=["GET"])
