"""``claimbridge statements import``: a bank statement from a file, matched like an upload."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from backend.errors import AppError
from backend.extensions import db
from backend.merchants.services import get_merchant
from backend.payments import services


@click.group("statements")
def statements() -> None:
    """Bank statements (camt.053, MT940) that settle receivables."""


@statements.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--merchant", "merchant_id", type=int, required=True, help="merchant whose account it is")
@with_appcontext
def import_command(path: Path, merchant_id: int) -> None:
    """Import a statement file; prints the counts as JSON. Importing it again changes nothing."""
    try:
        get_merchant(merchant_id)
        result = services.import_statement(merchant_id, path.read_bytes(), actor=f"cli:{path.name}"[:300])
    except AppError as error:
        db.session.rollback()
        detail = f" {json.dumps(error.details)}" if error.details else ""
        raise click.ClickException(f"{error.message}{detail}") from None
    db.session.commit()
    click.echo(json.dumps(result.to_dict(), indent=2))
