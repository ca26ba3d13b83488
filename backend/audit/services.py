"""Recording and reading audit events; the trail is append-only (the database refuses UPDATE and DELETE)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from backend.audit.models import AuditEvent
from backend.extensions import db, insert_rows, utcnow


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
        remote_addr=_client_address(),
    )
    db.session.add(event)
    return event


def _client_address() -> str | None:
    """Return the request's client address, or None outside a request or where it is no IP address.

    Behind a proxy (``CLAIMBRIDGE_PROXY_COUNT``) it comes from X-Forwarded-For, which a client may fill with
    anything the proxy passes on: text with NUL, or longer than the column, failed the request on PostgreSQL.
    """
    address = request.remote_addr if has_request_context() else None
    if not address or len(address) > AuditEvent.remote_addr.type.length:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record_events(events: Iterable[Mapping[str, Any]]) -> None:
    """Add many audit events with one INSERT; each mapping holds ``record_event``'s arguments (by name)."""
    now = utcnow()
    remote_addr = _client_address()
    rows = [
        {
            "action": event["action"],
            "actor": event["actor"],
            "merchant_id": event.get("merchant_id"),
            "target_type": event.get("target_type"),
            "target_id": None if event.get("target_id") is None else str(event["target_id"]),
            "details": event.get("details") or {},
            "remote_addr": remote_addr,
            "created_at": now,
        }
        for event in events
    ]
    if rows:
        insert_rows(AuditEvent.__table__, rows)


def list_events(
    merchant_id: int | None,
    *,
    page: int,
    per_page: int,
    action: str | None = None,
    since: datetime | None = None,
) -> tuple[list[AuditEvent], int]:
    """Return one page of the merchant's audit events, newest first, and their total count.

    ``merchant_id`` None reads the operator's own events, those kept outside any merchant (a purge).
    """
    conditions = [
        AuditEvent.merchant_id.is_(None) if merchant_id is None else AuditEvent.merchant_id == merchant_id
    ]
    if action is not None:
        conditions.append(AuditEvent.action == action)
    if since is not None:
        conditions.append(AuditEvent.created_at >= since)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = db.session.scalars(
        sa.select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total
