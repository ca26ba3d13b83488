"""Blueprint of the data-subject requests API; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "privacy",
    __name__,
    url_prefix="/api/v1/privacy",
    description="One buyer's data: export (Art. 15 GDPR) and erasure within legal retention (Art. 17 GDPR)",
)
