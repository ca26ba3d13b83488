"""``claimbridge shopware manifest`` and ``package`` against the configured public URL and app secret."""

import io
import zipfile

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from backend.cli import main
from tests.shopware.conftest import APP_SECRET


@pytest.fixture
def run(shopware_app):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: shopware_app))

    return invoke


class TestShopwareCommands:
    def test_manifest_points_at_the_public_url_with_the_app_secret(self, run, shopware_app):
        result = run("shopware", "manifest")
        assert result.exit_code == 0, result.output
        base = shopware_app.config["CLAIMBRIDGE_PUBLIC_URL"]
        assert f"<registrationUrl>{base}/shopware/register</registrationUrl>" in result.output
        assert f"<secret>{APP_SECRET}</secret>" in result.output
        assert f"<checkout>{base}/shopware/checkout-gateway</checkout>" in result.output

    def test_manifest_for_older_shops_has_no_checkout_gateway(self, run, tmp_path):
        target = tmp_path / "manifest.xml"
        result = run("shopware", "manifest", "--no-checkout-gateway", "--output", str(target))
        assert result.exit_code == 0, result.output
        text = target.read_text(encoding="utf-8")
        assert "<registrationUrl>" in text
        assert "<gateways>" not in text

    def test_package_holds_the_manifest_under_the_app_name(self, run, tmp_path):
        target = tmp_path / "app.zip"
        result = run("shopware", "package", "--output", str(target))
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
            assert archive.namelist() == [
                "ClaimBridge/manifest.xml",
                "ClaimBridge/Resources/config/plugin.png",
            ]
            assert APP_SECRET in archive.read("ClaimBridge/manifest.xml").decode()

    def test_refuses_without_an_app_secret(self, run, shopware_app, monkeypatch, tmp_path):
        monkeypatch.setitem(shopware_app.config, "CLAIMBRIDGE_SHOPWARE_APP_SECRET", None)
        result = run("shopware", "package", "--output", str(tmp_path / "app.zip"))
        assert result.exit_code != 0
        assert "CLAIMBRIDGE_SHOPWARE_APP_SECRET is not set" in result.output
        assert not (tmp_path / "app.zip").exists()
