"""The ``claimbridge`` command line: a Flask CLI group with the operator's commands."""

from __future__ import annotations

import importlib
import json
import signal
from collections.abc import Iterator
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from backend.extensions import db

# Each area's commands as "module:attribute", imported only when one of them runs (or ``--help`` lists them all):
# a statement import need not load the Shopware, handover and console code first. Click's own pattern for lazily
# loaded subcommands (https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands).
AREA_COMMANDS = {
    "audit": "backend.audit.cli:audit",
    "cases": "backend.cases.cli:cases",
    "connections": "backend.merchants.cli:connections",
    "console-link": "backend.console.cli:console_link",
    "handovers": "backend.handovers.cli:handovers",
    "orders": "backend.orders.cli:orders",
    "outbox": "backend.shop_outbox.cli:outbox",
    "privacy": "backend.privacy.cli:privacy",
    "rates": "backend.dunning.cli:rates",
    "shopware": "backend.shopware.cli:shopware",
    "statements": "backend.payments.cli:statements",
    "woocommerce": "backend.woocommerce.cli:woocommerce",
}


class ClaimBridgeGroup(FlaskGroup):
    """The Flask CLI group, with each area's commands imported when they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Name every command, the areas' without importing them."""
        return sorted({*super().list_commands(ctx), *AREA_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Return the command; FlaskGroup's own lookup only for the commands of Flask and its extensions.

        FlaskGroup loads every extension's plugin commands (Flask-Limiter's, with the entry points of all
        installed packages read) before it answers any name; this group's own commands do not need that.
        """
        if name in self.commands:
            return self.commands[name]
        if name in AREA_COMMANDS:
            module, _, attribute = AREA_COMMANDS[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


def _create_app() -> Flask:
    """Build the app a command runs in: without views for ClaimBridge's own commands, which serve no requests.

    Flask's and its extensions' commands (``db``, ``openapi``, ``limiter``) and ``--help`` get the whole app:
    those that live in the app load it before any command is chosen, and ``openapi print`` needs every route.
    """
    from backend.app import create_app

    return create_app(web=click.get_current_context().find_root().invoked_subcommand not in OWN_COMMANDS)


@click.group(
    cls=ClaimBridgeGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
def main() -> None:
    """ClaimBridge: risk checks, dunning and collection handover for invoice orders."""


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn (the same server production uses)."""
    from backend.server import run_gunicorn

    run_gunicorn(bind=f"{host}:{port}", workers=workers)


@main.command("worker")
@click.option("--once", is_flag=True, help="run each due job once and exit (for cron and tests)")
@click.option("--interval", type=float, default=None, help="seconds between rounds (default from config)")
@with_appcontext
def worker(once: bool, interval: float | None) -> None:
    """Run the periodic jobs: reconciliation, dunning, handovers, cleanup."""
    from backend.jobs import periodic_jobs
    from backend.worker import run_due_jobs, run_forever

    jobs = periodic_jobs(current_app.config)
    if once:
        for name, summary in run_due_jobs(jobs).items():
            click.echo(f"{name}: {summary}")
        return
    stopping = {"flag": False}

    def request_stop(signum: int, frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_forever(current_app._get_current_object(), jobs, interval=interval, stop=lambda: stopping["flag"])


@main.group("merchants")
def merchants() -> None:
    """Manage merchants (tenants)."""


@merchants.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def merchants_create(name: str, as_json: bool) -> None:
    """Create a merchant."""
    from backend.merchants.services import create_merchant

    merchant = create_merchant(name, actor="cli")
    db.session.commit()
    if as_json:
        _echo_json({"id": merchant.id, "name": merchant.name})
    else:
        click.echo(f"merchant {merchant.id} created: {merchant.name}")


@merchants.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def merchants_list(as_json: bool) -> None:
    """List merchants."""
    from backend.merchants.services import list_merchants

    rows = [{"id": m.id, "name": m.name, "created_at": m.created_at.isoformat()} for m in list_merchants()]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['name']}  (since {row['created_at'][:10]})")


@main.group("clients")
def clients() -> None:
    """Manage OAuth2 API clients of merchants."""


@clients.command("create")
@click.option("--merchant", "merchant_id", required=True, type=int)
@click.option("--scopes", required=True, help='space-separated, e.g. "risk:check orders:write"')
@click.option("--name", default="")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_create(merchant_id: int, scopes: str, name: str, as_json: bool) -> None:
    """Create a client; its secret is printed once and never stored in clear."""
    from backend.auth.services import create_client
    from backend.errors import AppError

    try:
        new = create_client(merchant_id, scopes, name=name, actor="cli")
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    if as_json:
        _echo_json({"client_id": new.client.client_id, "client_secret": new.client_secret})
        return
    click.echo(f"client_id:     {new.client.client_id}")
    click.echo(f"client_secret: {new.client_secret}")
    click.echo(f"scopes:        {new.client.scope}")
    click.echo("The secret is shown only now; store it in the shop plugin's settings.")


@clients.command("list")
@click.option("--merchant", "merchant_id", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_list(merchant_id: int | None, as_json: bool) -> None:
    """List clients (never their secrets)."""
    from backend.auth.services import list_clients

    rows = [
        {
            "client_id": c.client_id,
            "merchant_id": c.merchant_id,
            "name": c.name,
            "scopes": c.scope,
            "revoked": c.revoked_at is not None,
        }
        for c in list_clients(merchant_id)
    ]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        click.echo(
            f"{row['client_id']}  merchant={row['merchant_id']}  {state}  [{row['scopes']}]  {row['name']}"
        )


@clients.command("revoke")
@click.argument("client_id")
@with_appcontext
def clients_revoke(client_id: str) -> None:
    """Revoke a client and all of its tokens."""
    from backend.auth.services import revoke_client
    from backend.errors import AppError

    try:
        revoke_client(client_id, actor="cli")
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"client {client_id} revoked")


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_rotate_secret(client_id: str, as_json: bool) -> None:
    """Give a client a new secret: the old one and the tokens issued with it stop working at once."""
    from backend.auth.services import rotate_client_secret
    from backend.errors import AppError

    try:
        rotated = rotate_client_secret(client_id, actor="cli")
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    if as_json:
        _echo_json({"client_id": client_id, "client_secret": rotated.client_secret})
        return
    click.echo(f"client_id:     {client_id}")
    click.echo(f"client_secret: {rotated.client_secret}")
    click.echo("The secret is shown only now; put it into the shop plugin's settings.")


@main.command("demo")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def demo(as_json: bool) -> None:
    """Create a demo merchant and client with sample data and print commands to try."""
    from backend.demo import create_demo

    result = create_demo()
    db.session.commit()
    if as_json:
        _echo_json(result.as_dict())
        return
    click.echo(result.instructions(current_app.config["CLAIMBRIDGE_PUBLIC_URL"]))


@main.command("config")
@click.option("--markdown", is_flag=True, help="print the README's configuration table")
def show_config(markdown: bool) -> None:
    """Show every setting with its default (secrets are never printed)."""
    from backend.config import ENV_PREFIX, SETTINGS, describe_settings

    if not markdown:
        for name, shown in describe_settings():
            click.echo(f"{name:<34} {shown}")
        return
    click.echo("| variable | default | meaning |\n| --- | --- | --- |")
    for setting in SETTINGS:
        click.echo(f"| `{ENV_PREFIX}{setting.name}` | {setting.default or '—'} | {setting.help} |")


@main.command("doctor", with_appcontext=False)
@click.option("--strict", is_flag=True, help="fail on warnings too")
@click.pass_context
def doctor(ctx: click.Context, strict: bool) -> None:
    """Check configuration, database, rate-limit store, SMTP, base rates and every shop; change nothing.

    Exits 0 when nothing failed (warnings are printed), 1 when something failed (or warned, with --strict).
    """
    from backend.config import ConfigError
    from backend.doctor import FAIL, PASS, Finding, run_checks

    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except ConfigError as error:
        for problem in error.problems:
            click.echo(Finding(FAIL, "configuration", problem).line())
        raise click.exceptions.Exit(1) from None
    with app.app_context():
        findings = list(_echoed(run_checks()))
    failed = [f for f in findings if f.status == FAIL or (strict and f.status != PASS)]
    warned = [f for f in findings if f.status not in (PASS, FAIL)]
    click.echo(f"{len(findings)} checks: {len(failed)} failed, {len(warned)} warnings")
    if failed:
        raise click.exceptions.Exit(1)


def _echoed(findings: Iterator[Any]) -> Iterator[Any]:
    for finding in findings:
        click.echo(finding.line())
        yield finding


@main.group("keys")
def keys() -> None:
    """Encryption key helpers."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new encryption key for CLAIMBRIDGE_ENCRYPTION_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest key (the first of CLAIMBRIDGE_ENCRYPTION_KEY).

    Safe to run again: rows already under the newest key are skipped, so an interrupted run is finished by
    running it once more. Exits 1 while any secret can be opened by no configured key.
    """
    from backend.audit.services import record_event
    from backend.ops.keys import rotate_stored_secrets

    report = rotate_stored_secrets()
    for name, rotated in report.rotated.items():
        click.echo(f"{name:<58} {rotated:>6} re-encrypted  {report.current[name]:>6} already current")
    record_event(
        "keys.rotated",
        actor="cli",
        details={"rotated": sum(report.rotated.values()), "unreadable": len(report.unreadable)},
    )
    db.session.commit()
    if report.unreadable:
        for where in report.unreadable:
            click.echo(f"cannot decrypt {where} with any configured key", err=True)
        raise click.exceptions.Exit(1)
    click.echo("Every stored secret is under the newest key; the older keys may now be removed.")


# ClaimBridge's own commands, named before FlaskGroup adds those of Flask's extensions (when first asked for one).
OWN_COMMANDS = frozenset({*main.commands, *AREA_COMMANDS})
