"""``claimbridge woocommerce …``: build the plugin zip merchants install in WordPress."""

from __future__ import annotations

from pathlib import Path

import click

from backend.woocommerce.package import SOURCE_DIR, PluginSourceError, build_plugin_zip, plugin_version


@click.group("woocommerce")
def woocommerce() -> None:
    """WooCommerce plugin: the installable zip."""


@woocommerce.command("package")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="zip file (default: claimbridge-<version>.zip)",
)
@click.option(
    "--source",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=SOURCE_DIR,
    show_default=True,
    help="the plugin folder",
)
def package(output: Path | None, source: Path) -> None:
    """Build the zip to install under Plugins > Add New > Upload Plugin (it holds no secrets)."""
    try:
        version = plugin_version(source)
        data = build_plugin_zip(source)
    except PluginSourceError as error:
        raise click.ClickException(str(error)) from error
    target = output or Path(f"claimbridge-{version}.zip")
    target.write_bytes(data)
    click.echo(f"WooCommerce plugin {version} written to {target}")
