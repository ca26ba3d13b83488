"""``claimbridge console-link``: an operator opens a merchant's console without a shop."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from backend.console import sessions
from backend.errors import AppError
from backend.extensions import db


@click.command("console-link")
@click.option("--merchant", "merchant_id", type=int, required=True, help="the merchant whose console opens")
@click.option(
    "--user", "user_name", default="operator", show_default=True, help="recorded with every decision"
)
@click.option(
    "--locale", default="de-DE", show_default=True, help="de-… for German, anything else for English"
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def console_link(merchant_id: int, user_name: str, locale: str, as_json: bool) -> None:
    """Print a one-time console URL for the merchant (single use, valid for five minutes)."""
    if not user_name.strip():
        raise click.ClickException("--user must name the person who will use the link")
    try:
        link = sessions.create_console_link(
            merchant_id, user_name=user_name, locale=locale, created_by=f"operator ({user_name.strip()})"
        )
    except AppError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"url": link.url, "expires_at": link.expires_at.isoformat()}))
        return
    click.echo(link.url)
    click.echo(f"single use, expires at {link.expires_at.isoformat()}", err=True)
