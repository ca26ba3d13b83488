"""Blueprint of the dunning area; routes are declared on it in views.py (flask-smorest documents them there)."""

from flask_smorest import Blueprint

blp = Blueprint(
    "dunning", __name__, url_prefix="/api/v1", description="Dunning schedule, notice settings and buyer stops"
)
