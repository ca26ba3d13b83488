"""Imports every area's models so the metadata (and Alembic) sees all tables."""

from backend.audit.models import AuditEvent
from backend.auth.models import AccessToken
from backend.merchants.models import ApiClient, Merchant, ShopConnection
from backend.worker import JobLease

__all__ = ["AccessToken", "ApiClient", "AuditEvent", "JobLease", "Merchant", "ShopConnection"]
