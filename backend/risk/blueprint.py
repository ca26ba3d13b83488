"""Blueprint of the risk area; routes are declared on it in views.py (flask-smorest documents them there)."""

from flask_smorest import Blueprint

blp = Blueprint("risk", __name__, url_prefix="/api/v1", description="Checkout risk checks and policy")
