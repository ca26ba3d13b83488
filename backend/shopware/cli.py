"""``claimbridge shopware …``: write the app manifest and build the zip merchants upload."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from backend.errors import ConflictError
from backend.extensions import db
from backend.shopware.manifest import build_app_zip, render_manifest
from backend.shopware.services import issue_reattach_code


def _app_settings() -> tuple[str, str, str]:
    """Return (public URL, app name, app secret) from the configuration, or stop with a clear message."""
    secret = current_app.config.get("CLAIMBRIDGE_SHOPWARE_APP_SECRET")
    if not secret:
        raise click.ClickException(
            "CLAIMBRIDGE_SHOPWARE_APP_SECRET is not set; generate one (for example with "
            "`claimbridge keys generate`) and configure it before writing a manifest"
        )
    config = current_app.config
    return config["CLAIMBRIDGE_PUBLIC_URL"], config["CLAIMBRIDGE_SHOPWARE_APP_NAME"], secret


PRIVACY_URL_OPTION = click.option(
    "--privacy-url", help="your privacy policy (manifest <meta><privacy>); default: this server's app notice"
)


@click.group("shopware")
def shopware() -> None:
    """Shopware app: manifest and upload package for this server, and moving an uninstalled shop's data."""


@shopware.command("manifest")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="write here instead of stdout"
)
@click.option("--no-checkout-gateway", is_flag=True, help="for shops before Shopware 6.6.3")
@PRIVACY_URL_OPTION
@with_appcontext
def manifest(output: Path | None, no_checkout_gateway: bool, privacy_url: str | None) -> None:
    """Write manifest.xml for CLAIMBRIDGE_PUBLIC_URL and the configured app secret."""
    base_url, app_name, secret = _app_settings()
    text = render_manifest(
        base_url,
        secret,
        app_name=app_name,
        checkout_gateway=not no_checkout_gateway,
        privacy_url=privacy_url,
    )
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"manifest for {base_url} written to {output}")


@shopware.command("package")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="zip file (default: <AppName>.zip)"
)
@click.option("--no-checkout-gateway", is_flag=True, help="for shops before Shopware 6.6.3")
@PRIVACY_URL_OPTION
@with_appcontext
def package(output: Path | None, no_checkout_gateway: bool, privacy_url: str | None) -> None:
    """Build the zip to upload in the Shopware Administration (Extensions > My extensions > Upload app)."""
    base_url, app_name, secret = _app_settings()
    target = output or Path(f"{app_name}.zip")
    target.write_bytes(
        build_app_zip(
            base_url,
            secret,
            app_name=app_name,
            checkout_gateway=not no_checkout_gateway,
            privacy_url=privacy_url,
        )
    )
    click.echo(
        f"app package for {base_url} written to {target}; it contains the app secret, share it privately"
    )


@shopware.command("reattach-code")
@click.option(
    "--merchant", "merchant_id", type=int, required=True, help="the merchant of the uninstalled shop"
)
@with_appcontext
def reattach_code(merchant_id: int) -> None:
    """Print a one-time code (valid 7 days) that a new registration of the merchant's uninstalled shop enters in
    its console to take over the kept data."""
    try:
        code = issue_reattach_code(merchant_id, actor="operator (claimbridge shopware reattach-code)")
    except ConflictError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(code)
