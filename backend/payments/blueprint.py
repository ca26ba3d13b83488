"""Blueprint of the payments area; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "payments", __name__, url_prefix="/api/v1", description="Bank statements, payment matching and its review"
)
