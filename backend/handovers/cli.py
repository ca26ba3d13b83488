"""``claimbridge handovers``: operators list handovers, approve one for a merchant, run the jobs once."""

from __future__ import annotations

import json
from collections.abc import Callable

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from backend.errors import AppError
from backend.extensions import db
from backend.handovers.decisions import buyer_name, decide_handover
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import HANDOVER_STATUSES, Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.shop_updates import process_shop_updates
from backend.handovers.submission import submit_approved_handovers

# What one round of the worker does for handovers, in the order a case moves through it.
JOBS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("propose", propose_handovers),
    ("submit", submit_approved_handovers),
    ("poll", poll_submitted_handovers),
    ("shop-updates", process_shop_updates),
)


@click.group("handovers")
def handovers() -> None:
    """Work handovers to collection agencies."""


@handovers.command("list")
@click.option("--merchant", "merchant_id", type=int, default=None, help="only this merchant's handovers")
@click.option("--status", type=click.Choice(HANDOVER_STATUSES), default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_command(merchant_id: int | None, status: str | None, as_json: bool) -> None:
    """List handovers, newest first."""
    query = sa.select(Handover).order_by(Handover.id.desc()).limit(500)
    if merchant_id is not None:
        query = query.where(Handover.merchant_id == merchant_id)
    if status is not None:
        query = query.where(Handover.status == status)
    items = [
        {
            "id": handover.id,
            "merchant_id": handover.merchant_id,
            "order": handover.receivable.number,
            "buyer": buyer_name(handover.receivable),
            "status": handover.status,
            "total": str(handover.total),
            "currency": handover.currency,
            "agency": handover.agency,
            "case_id": handover.case_id,
            "proposed_at": handover.proposed_at.isoformat(),
        }
        for handover in db.session.scalars(query)
    ]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    if not items:
        click.echo("no handovers")
    for item in items:
        case = f"  case {item['agency']}:{item['case_id']}" if item["case_id"] else ""
        click.echo(
            f"{item['id']:>6}  merchant {item['merchant_id']}  {item['status']:<18}  {item['order']}  "
            f"{item['buyer']}  {item['total']} {item['currency']}{case}"
        )


@handovers.command("approve")
@click.argument("handover_id", type=int)
@click.option("--by", required=True, help="who approves, on the merchant's behalf (audited)")
@click.option("--note", default=None)
@with_appcontext
def approve_command(handover_id: int, by: str, note: str | None) -> None:
    """Approve a proposal for its merchant; the next submit run hands it to the agency."""
    merchant_id = db.session.scalar(sa.select(Handover.merchant_id).filter_by(id=handover_id))
    if merchant_id is None:
        raise click.ClickException(f"handover {handover_id} not found")
    try:
        handover = decide_handover(merchant_id, handover_id, "approve", actor=f"cli ({by})", note=note)
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"handover {handover.id}: {handover.status} by {handover.decided_by}")


@handovers.command("run")
@with_appcontext
def run_command() -> None:
    """Propose, submit, poll and write shop updates once, printing what each step did (cron, demos)."""
    for name, job in JOBS:
        click.echo(f"{name}: {job()}")
