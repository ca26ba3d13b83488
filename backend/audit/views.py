"""The audit trail for the merchant's own API clients (scope ``audit:read``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.audit import services
from backend.audit.blueprint import blp
from backend.audit.schemas import AuditListArgsSchema, AuditPageSchema
from backend.auth.server import current_merchant_id, require_oauth


@blp.route("/audit-events", methods=["GET"])
@blp.arguments(AuditListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, AuditPageSchema)
@require_oauth("audit:read")
def list_audit_events(page: int, per_page: int, action: str | None, since: datetime | None) -> dict[str, Any]:
    """The merchant's audit events, newest first; filter by action and by time."""
    rows, total = services.list_events(
        current_merchant_id(), page=page, per_page=per_page, action=action, since=since
    )
    return {"items": rows, "total": total, "page": page, "per_page": per_page}
