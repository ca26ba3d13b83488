"""``claimbridge woocommerce package``: the zip WordPress installs (run-tests.sh installs it in real WordPress)."""

from __future__ import annotations

import io
import shutil
import zipfile

from backend.woocommerce.package import SOURCE_DIR, build_plugin_zip, plugin_version
from tests.orders.support import cli_runner


def test_zip_holds_the_plugin_under_its_slug_with_translations():
    names = zipfile.ZipFile(io.BytesIO(build_plugin_zip())).namelist()
    assert all(name.startswith("claimbridge/") for name in names)
    for required in (
        "claimbridge/claimbridge.php",
        "claimbridge/uninstall.php",
        "claimbridge/readme.txt",
        "claimbridge/languages/claimbridge.pot",
        "claimbridge/languages/claimbridge-de_DE.mo",
        "claimbridge/includes/class-claimbridge-risk-gate.php",
        "claimbridge/assets/js/blocks-invoice.js",
    ):
        assert required in names
    assert not any("/tests/" in name for name in names)


def test_same_source_gives_the_same_bytes():
    assert build_plugin_zip() == build_plugin_zip()


def test_cli_writes_the_versioned_zip(app, tmp_path):
    target = tmp_path / "plugin.zip"
    result = cli_runner(app)("woocommerce", "package", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert f"WooCommerce plugin {plugin_version()} written to" in result.output
    assert zipfile.ZipFile(target).testzip() is None


def test_cli_refuses_a_plugin_without_compiled_translations(app, tmp_path):
    source = tmp_path / "claimbridge"
    shutil.copytree(SOURCE_DIR, source)
    (source / "languages" / "claimbridge-de_DE.mo").unlink()
    result = cli_runner(app)(
        "woocommerce", "package", "--source", str(source), "--output", str(tmp_path / "x.zip")
    )
    assert result.exit_code != 0
    assert "German translation is not compiled" in result.output
    assert not (tmp_path / "x.zip").exists()
