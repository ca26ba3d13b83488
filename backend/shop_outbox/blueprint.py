"""Blueprint of the shop outbox API; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "shop_outbox",
    __name__,
    url_prefix="/api/v1",
    description="Writes to the merchant's shops that were parked after failing: list, retry, discard",
)
