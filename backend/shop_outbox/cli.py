"""``claimbridge outbox``: the shop writes that were parked after failing; retry or discard them."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from backend.errors import AppError
from backend.extensions import db
from backend.shop_outbox import services
from backend.shop_outbox.schemas import ParkedItemSchema

OUTBOX = click.Choice(services.OUTBOXES)


@click.group("outbox")
def outbox() -> None:
    """Parked writes to shops (after too many failed tries, or for a disabled connection)."""


@outbox.command("list")
@click.option("--merchant", "merchant_id", type=int, default=None, help="only this merchant's; none: all")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_command(merchant_id: int | None, as_json: bool) -> None:
    """List parked items, oldest parked first, with depth and parked counts per outbox."""
    items = services.parked_items(merchant_id, limit=1000)
    if as_json:
        click.echo(json.dumps({"items": ParkedItemSchema(many=True).dump(items)}, indent=2))
        return
    for item in items:
        click.echo(
            f"{item.parked_at:%Y-%m-%d %H:%M:%S}  {item.outbox}/{item.id:<8} merchant {item.merchant_id:<5} "
            f"{item.kind:<13} order {item.order_id or '-':<12} {item.attempts:>2} tries  {item.last_error}"
        )
    for name, level in services.outbox_depths().items():
        click.echo(f"{name}: {level['depth']:.0f} waiting, {level['parked']:.0f} parked")


@outbox.command("retry")
@click.argument("outbox_name", metavar="OUTBOX", type=OUTBOX)
@click.argument("item_id", type=int)
@with_appcontext
def retry_command(outbox_name: str, item_id: int) -> None:
    """Send a parked item again with a fresh count of tries."""
    try:
        item = services.retry_parked(outbox_name, item_id, merchant_id=None, actor="cli")
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{item.outbox}/{item.id} ({item.kind}) queued again")


@outbox.command("discard")
@click.argument("outbox_name", metavar="OUTBOX", type=OUTBOX)
@click.argument("item_id", type=int)
@with_appcontext
def discard_command(outbox_name: str, item_id: int) -> None:
    """Give a parked item up for good (the audit trail keeps what it was)."""
    try:
        item = services.discard_parked(outbox_name, item_id, merchant_id=None, actor="cli")
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{item.outbox}/{item.id} ({item.kind}) discarded")
