"""Blueprint of the audit trail API; routes are declared on it in views.py."""

from flask_smorest import Blueprint

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1",
    description="The merchant's audit trail: who did what to which record, and when (append-only)",
)
