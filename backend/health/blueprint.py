"""URL rules for liveness (the API reference at /docs is served by flask-smorest's Swagger UI)."""

from flask import Blueprint

from backend.health import views

bp = Blueprint("health", __name__)
bp.add_url_rule("/healthz", view_func=views.healthz, methods=["GET"])
