"""Blueprint of the handovers area; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "handovers",
    __name__,
    url_prefix="/api/v1",
    description="Handover proposals, the merchant's decisions and the mirrored collection case",
)
