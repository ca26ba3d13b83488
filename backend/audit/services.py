"""Recording audit events."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from backend.audit.models import AuditEvent
from backend.extensions import db


def record_event(
    action: str,
    *,
    actor: str,
    merchant_id: int | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        action=action,
        actor=actor,
        merchant_id=merchant_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
