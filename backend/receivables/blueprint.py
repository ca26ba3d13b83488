"""Blueprint of the receivables area; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "receivables",
    __name__,
    url_prefix="/api/v1",
    description="Invoice receivables: list, history, claim, disputes and dunning stops",
)
