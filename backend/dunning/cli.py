"""``claimbridge rates …``: the operator adds and lists §247 BGB base rates."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from backend.dunning.base_rates import bundled_rates, parse_base_rate
from backend.dunning.rate_store import add_base_rate, base_rate_status, stored_base_rates, sync_base_rates
from backend.errors import AppError
from backend.extensions import db
from connectors.errors import ConnectorError


@click.group("rates")
def rates() -> None:
    """Base rates (§247 BGB) for default interest."""


@rates.command("add")
@click.argument("valid_from")
@click.argument("percent")
@click.option("--source", required=True, help='where it was published, e.g. "Deutsche Bundesbank, …"')
@with_appcontext
def rates_add(valid_from: str, percent: str, source: str) -> None:
    """Add the base rate valid from VALID_FROM (a 1 January or 1 July), e.g. ``2026-07-01 1.52``."""
    try:
        rate = parse_base_rate(valid_from, percent, source)
        add_base_rate(rate, actor="cli")
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"base rate {rate.percent} % valid from {rate.valid_from.isoformat()} added")


@rates.command("list")
@with_appcontext
def rates_list() -> None:
    """List every known base rate: bundled ones and those operators added."""
    bundled = {rate.valid_from for rate in bundled_rates()}
    rows = sorted(
        [*bundled_rates(), *(r for r in stored_base_rates() if r.valid_from not in bundled)],
        key=lambda rate: rate.valid_from,
    )
    for rate in rows:
        origin = "bundled" if rate.valid_from in bundled else "added"
        click.echo(f"{rate.valid_from.isoformat()}  {rate.percent:>6} %  {origin:<7}  {rate.source}")


@rates.command("sync")
@with_appcontext
def rates_sync() -> None:
    """Read the Deutsche Bundesbank's base-rate series, check it against ours, store new half-years."""
    try:
        summary = sync_base_rates()
    except (ConnectorError, ValueError) as error:
        db.session.rollback()
        raise click.ClickException(f"nothing stored: {error}") from error
    db.session.commit()
    click.echo(summary)


@rates.command("check")
@with_appcontext
def rates_check() -> None:
    """Say whether the current half-year's base rate is known; exit 1 when it is not (for monitoring)."""
    status = base_rate_status()
    label = "OK  " if status["status"] == "ok" else "WARN"
    click.echo(f"[{label}] base rate: {status['message']}")
    if status["status"] != "ok":
        raise SystemExit(1)
