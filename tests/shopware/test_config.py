"""The Shopware settings: app name and app secret."""

import pytest

from backend.config import ConfigError, load_config
from backend.shopware.manifest import PLACEHOLDER_SECRET

PRODUCTION = {
    "CLAIMBRIDGE_ENV": "production",
    "CLAIMBRIDGE_PUBLIC_URL": "https://claimbridge.example",
}


def problems(tmp_path, environ):
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, environ)
    return "\n".join(error.value.problems)


class TestShopwareSettings:
    def test_defaults_outside_production(self, tmp_path):
        config = load_config(tmp_path, {})
        assert (config.shopware_app_name, config.shopware_app_secret) == ("ClaimBridge", None)
        assert config.to_flask()["CLAIMBRIDGE_SHOPWARE_APP_NAME"] == "ClaimBridge"

    def test_production_requires_the_app_secret(self, tmp_path):
        assert "CLAIMBRIDGE_SHOPWARE_APP_SECRET is required in production" in problems(tmp_path, PRODUCTION)

    def test_short_or_placeholder_secret_is_refused(self, tmp_path):
        assert "at least 32 characters" in problems(tmp_path, {"CLAIMBRIDGE_SHOPWARE_APP_SECRET": "short"})
        placeholder = {"CLAIMBRIDGE_SHOPWARE_APP_SECRET": PLACEHOLDER_SECRET}
        assert "committed placeholder" in problems(tmp_path, placeholder)

    def test_app_name_must_suit_the_manifest(self, tmp_path):
        assert "SHOPWARE_APP_NAME" in problems(tmp_path, {"CLAIMBRIDGE_SHOPWARE_APP_NAME": "Claim Bridge"})

    def test_configured_values_reach_flask(self, tmp_path):
        secret = "s" * 40
        config = load_config(
            tmp_path,
            {"CLAIMBRIDGE_SHOPWARE_APP_NAME": "ClaimBridgeTest", "CLAIMBRIDGE_SHOPWARE_APP_SECRET": secret},
        )
        flask_config = config.to_flask()
        assert flask_config["CLAIMBRIDGE_SHOPWARE_APP_NAME"] == "ClaimBridgeTest"
        assert flask_config["CLAIMBRIDGE_SHOPWARE_APP_SECRET"] == secret
