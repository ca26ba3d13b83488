"""Blueprint of the merchant area; routes are declared on it in views.py (flask-smorest documents them there)."""

from flask_smorest import Blueprint

blp = Blueprint("merchants", __name__, url_prefix="/api/v1", description="The caller's merchant and shops")
