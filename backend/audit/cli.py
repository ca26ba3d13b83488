"""``claimbridge audit``: read the audit trail (there is no command to change it; the database refuses)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from backend.audit import services
from backend.audit.schemas import AuditEventSchema


@click.group("audit")
def audit() -> None:
    """Read the audit trail."""


@audit.command("list")
@click.option(
    "--merchant", "merchant_id", type=int, default=None, help="this merchant's events; none: the operator's"
)
@click.option("--action", default=None, help="only events of this action, e.g. handover.approved")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None, help="UTC"
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(min=1, max=1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_command(
    merchant_id: int | None,
    action: str | None,
    since: datetime | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """List audit events, newest first."""
    rows, total = services.list_events(
        merchant_id,
        page=page,
        per_page=per_page,
        action=action,
        since=since.replace(tzinfo=UTC) if since else None,
    )
    if as_json:
        items = AuditEventSchema(many=True).dump(rows)
        click.echo(json.dumps({"items": items, "total": total, "page": page, "per_page": per_page}, indent=2))
        return
    for row in rows:
        target = f"{row.target_type}:{row.target_id}" if row.target_type else "-"
        click.echo(f"{row.created_at:%Y-%m-%d %H:%M:%S}  {row.action:<34} {target:<28} {row.actor}")
    click.echo(f"page {page}, {len(rows)} of {total} events")
