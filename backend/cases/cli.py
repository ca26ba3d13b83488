"""``claimbridge cases``: staff of the built-in agency list cases and record what happened on them."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import click
from flask.cli import with_appcontext

from backend.cases import services
from backend.cases.models import LEGAL_STAGES, PAYMENT_STATES, PROCESSING_STATES
from backend.dates import berlin_today
from backend.errors import AppError
from backend.extensions import db
from backend.types import fits_money


@click.group("cases")
def cases() -> None:
    """Work the built-in agency's cases."""


@cases.command("list")
@click.option("--merchant", "merchant_id", type=int, default=None, help="only this merchant's cases")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_command(merchant_id: int | None, as_json: bool) -> None:
    """List cases, newest first."""
    rows, _ = services.list_cases(merchant_id, per_page=200)
    items = [
        {
            "id": case.id,
            "merchant_id": case.merchant_id,
            "reference": case.your_reference,
            "debtor": case.debtor_name,
            "invoice": case.invoice_number,
            "legal_stage": case.legal_stage,
            "processing_state": case.processing_state,
            "payment_state": case.payment_state,
            "open": str(services.open_balance(case)["total"]),
        }
        for case in rows
    ]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(
            f"{item['id']:>6}  merchant {item['merchant_id']}  {item['invoice']}  {item['debtor']}  "
            f"{item['legal_stage']}/{item['processing_state']}/{item['payment_state']}  open {item['open']}"
        )


def _amount(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("expected an amount like 12.50") from None
    if not fits_money(amount) or amount <= 0:
        raise click.BadParameter("expected a positive amount in cents, like 12.50")
    return amount


@cases.command("event")
@click.argument("case_id", type=int)
@click.option("--legal-stage", type=click.Choice(LEGAL_STAGES))
@click.option("--processing-state", type=click.Choice(PROCESSING_STATES))
@click.option("--payment-state", type=click.Choice(PAYMENT_STATES))
@click.option("--payment", callback=_amount, help="an amount the agency collected, e.g. 12.50")
@click.option("--value-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--reference", default=None, help="the payment's id (repeating it books nothing twice)")
@click.option("--reject", "rejection_reason", default=None, help="refuse the case with this reason")
@click.option("--note", default=None)
@click.option("--by", default="staff", show_default=True)
@with_appcontext
def event_command(
    case_id: int,
    legal_stage: str | None,
    processing_state: str | None,
    payment_state: str | None,
    payment: Decimal | None,
    value_date: object,
    reference: str | None,
    rejection_reason: str | None,
    note: str | None,
    by: str,
) -> None:
    """Record a status change, a payment, a refusal or a note on a case."""
    values = {
        "legal_stage": legal_stage,
        "processing_state": processing_state,
        "payment_state": payment_state,
        "rejection_reason": rejection_reason,
        "note": note,
        "payment": None,
    }
    if payment is not None:
        day = value_date.date() if value_date is not None else berlin_today()  # type: ignore[attr-defined]
        values["payment"] = {"amount": payment, "value_date": day, "reference": reference}
    if all(value is None for value in values.values()):
        raise click.UsageError("nothing to record: give a state, --payment, --reject or --note")
    try:
        case = services.get_case(None, case_id, for_update=True)
        services.record_case_event(case, values, actor=f"cli ({by})")
    except AppError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    balance = services.open_balance(case)
    click.echo(
        f"case {case.id}: {case.legal_stage}/{case.processing_state}/{case.payment_state}, open {balance['total']}"
    )
