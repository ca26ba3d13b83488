"""``claimbridge connections``: connect shops for merchants, list connections, reconcile one now."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from backend.errors import AppError
from backend.extensions import db
from backend.merchants import services
from backend.merchants.connectors import CREDENTIAL_FIELDS
from backend.merchants.models import ShopConnection
from backend.woocommerce.services import CONNECTION_STEPS, reconcile_shop
from connectors.errors import ConnectorError


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group("connections")
def connections() -> None:
    """Manage merchants' shop connections."""


@connections.command("add")
@click.option("--merchant", "merchant_id", required=True, type=int)
@click.option("--platform", required=True, type=click.Choice(sorted(CREDENTIAL_FIELDS)))
@click.option(
    "--url", "shop_url", required=True, help="the shop's base URL (WordPress home URL for WooCommerce)"
)
@click.option("--key", required=True, help="Shopware access key id / WooCommerce consumer key")
@click.option(
    "--secret",
    required=True,
    prompt=True,
    hide_input=True,
    help="Shopware secret access key / WooCommerce consumer secret (prompted when left out)",
)
@click.option("--name", default="")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def connections_add(
    merchant_id: int, platform: str, shop_url: str, key: str, secret: str, name: str, as_json: bool
) -> None:
    """Connect a shop: the credentials are tried against it before anything is stored."""
    key_field, secret_field = CREDENTIAL_FIELDS[platform]
    try:
        connection = services.create_connection(
            merchant_id,
            platform=platform,
            shop_url=shop_url,
            credentials={key_field: key, secret_field: secret},
            name=name,
            actor="cli",
            steps=CONNECTION_STEPS,
            checkpoint=db.session.commit,
        )
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    if as_json:
        _echo_json(_row(connection))
        return
    extra = "; order webhooks registered" if platform == "woocommerce" else ""
    click.echo(f"connection {connection.id} added: {platform} {connection.shop_url}{extra}")


@connections.command("update")
@click.argument("connection_id", type=int)
@click.option("--url", "shop_url", default=None, help="a new shop URL (WordPress home URL for WooCommerce)")
@click.option("--key", default=None, help="a new access key id / consumer key (give --secret too)")
@click.option("--secret", default=None, help="the new key's secret (prompted when --key is given alone)")
@click.option("--name", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def connections_update(
    connection_id: int,
    shop_url: str | None,
    key: str | None,
    secret: str | None,
    name: str | None,
    as_json: bool,
) -> None:
    """Change a connection's URL, credentials or name; its receivables stay with it."""
    connection = db.session.get(ShopConnection, connection_id)
    if connection is None:
        raise click.ClickException(f"connection {connection_id} does not exist")
    credentials = None
    if key is not None or secret is not None:
        if key is None:
            raise click.ClickException("--secret needs --key")
        secret = secret if secret is not None else click.prompt("Secret", hide_input=True)
        key_field, secret_field = CREDENTIAL_FIELDS[connection.platform]
        credentials = {key_field: key, secret_field: secret}
    try:
        connection = services.update_connection(
            connection.merchant_id,
            connection_id,
            shop_url=shop_url,
            credentials=credentials,
            name=name,
            actor="cli",
            steps=CONNECTION_STEPS,
            checkpoint=db.session.commit,
        )
    except AppError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    if as_json:
        _echo_json(_row(connection))
        return
    click.echo(f"connection {connection.id} updated: {connection.platform} {connection.shop_url}")


def _row(connection: ShopConnection) -> dict[str, Any]:
    return {
        "id": connection.id,
        "merchant_id": connection.merchant_id,
        "platform": connection.platform,
        "name": connection.name,
        "shop_url": connection.shop_url,
        "status": connection.status,
        "last_synced_at": connection.last_synced_at,
    }


@connections.command("list")
@click.option("--merchant", "merchant_id", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def connections_list(merchant_id: int | None, as_json: bool) -> None:
    """List connections (never their credentials)."""
    rows = [_row(connection) for connection in services.list_all_connections(merchant_id)]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        synced = row["last_synced_at"].isoformat(timespec="seconds") if row["last_synced_at"] else "never"
        click.echo(
            f"{row['id']:>5}  merchant={row['merchant_id']}  {row['platform']:<11} {row['status']:<8} "
            f"{row['shop_url'] or '-'}  synced {synced}  {row['name']}"
        )


@connections.command("sync")
@click.argument("connection_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def connections_sync(connection_id: int, as_json: bool) -> None:
    """Reconcile one connection now (a WooCommerce shop's webhooks and plugin too) and print what changed."""
    from backend.orders.services import SHOP_PLATFORMS, reconcile_connection

    connection = db.session.get(ShopConnection, connection_id)
    if connection is None:
        raise click.ClickException(f"connection {connection_id} does not exist")
    if connection.status != "active" or connection.platform not in SHOP_PLATFORMS:
        raise click.ClickException(
            f"connection {connection_id} ({connection.platform}, {connection.status}) has no shop to poll"
        )
    try:
        result = reconcile_connection(connection, checkpoint=db.session.commit)
        if connection.platform == "woocommerce":
            reconcile_shop(connection)
    except ConnectorError as error:
        db.session.rollback()
        raise click.ClickException(f"connection {connection_id}: the shop failed: {error}") from error
    db.session.commit()
    counts = {name: getattr(result, name) for name in ("created", "updated", "unchanged", "skipped")}
    if as_json:
        _echo_json({"connection_id": connection_id, **counts, "cursor": result.cursor})
        return
    click.echo(f"connection {connection_id} synced: {result}")
