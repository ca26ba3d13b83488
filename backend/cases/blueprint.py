"""Blueprint of the built-in agency's inbox; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/api/v1/agency",
    description="The built-in collection agency: cases handed over, status changes and payments",
)
