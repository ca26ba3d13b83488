"""``claimbridge privacy``: export or erase one buyer's data within a merchant, for operators."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError

from backend.audit.services import record_event
from backend.errors import AppError
from backend.extensions import db
from backend.privacy import services
from backend.privacy.schemas import (
    REFERENCE_RULE,
    BuyerExportSchema,
    DataSubjectSchema,
    ErasureReportSchema,
    is_reference,
)


def _checked(email: str) -> str:
    """Return the address if it is one; the API's rule, so the CLI refuses what the API refuses."""
    try:
        return DataSubjectSchema().load({"email": email})["email"]
    except ValidationError as error:
        raise click.BadParameter("not an e-mail address", param_hint="--email") from error


def _reference(value: str) -> str:
    """Return ``--by`` if it is a short reference; the audit trail takes no free text (the API's rule)."""
    if not is_reference(value):
        raise click.BadParameter(REFERENCE_RULE)
    return value


@click.group("privacy")
def privacy() -> None:
    """Data-subject requests: export (Art. 15 GDPR) and erasure (Art. 17 GDPR) of one buyer."""


@privacy.command("export")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--email", required=True, help="the buyer's e-mail address")
@with_appcontext
def export_command(merchant_id: int, email: str) -> None:
    """Print everything held on the buyer as JSON."""
    try:
        export = services.export_buyer(merchant_id, _checked(email))
    except AppError as error:
        raise click.ClickException(error.message) from error
    record_event(
        "privacy.buyer_exported",
        actor="cli",
        merchant_id=merchant_id,
        target_type="buyer",
        details={"receivables": len(export["receivables"]), "risk_checks": len(export["risk_checks"])},
    )
    db.session.commit()
    click.echo(json.dumps(BuyerExportSchema().dump(export), indent=2))


@privacy.command("erase")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--email", required=True, help="the buyer's e-mail address")
@click.option(
    "--by",
    required=True,
    callback=lambda _ctx, _param, value: _reference(value),
    help="a reference for the request, e.g. its ticket id (audited; A-Z a-z 0-9 . _ : -, up to 64)",
)
@click.confirmation_option(prompt="Erase this buyer's data? Open claims and accounting records are kept.")
@with_appcontext
def erase_command(merchant_id: int, email: str, by: str) -> None:
    """Erase the buyer's data, keeping open claims and accounting records; print what happened as JSON."""
    try:
        report = services.erase_buyer(merchant_id, _checked(email), actor=f"cli ({by})")
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(json.dumps(ErasureReportSchema().dump(report), indent=2))
