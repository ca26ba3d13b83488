"""Blueprint of the orders area; routes are declared on it in views.py (flask-smorest documents them there)."""

from flask_smorest import Blueprint

blp = Blueprint(
    "orders", __name__, url_prefix="/api/v1", description="Invoice orders pushed by shops and accounting"
)
