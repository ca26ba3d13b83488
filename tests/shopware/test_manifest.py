import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from backend.shopware.manifest import (
    ICON_PATH,
    LIFECYCLE_EVENTS,
    ORDER_EVENTS,
    PLACEHOLDER_SECRET,
    build_app_zip,
    default_icon,
    normalise_base_url,
    render_manifest,
)
from connectors.shops import base as shops_base
from tests.fakes.shopware_shop import app_install_errors

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_MANIFEST = ROOT / "plugins" / "shopware" / "manifest.xml"
# Copies of shopware/shopware src/Core/Framework/App/Manifest/Schema/manifest-2.0.xsd (6.6) and manifest-3.0.xsd
# (6.7): Shopware validates a manifest against its own schema, whatever the file names (../shared/reference).
SCHEMAS = tuple(Path(__file__).parent / "fixtures" / f"manifest-{v}.xsd" for v in ("2.0", "3.0"))
BASE = "https://claimbridge.example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def assert_valid(manifest: str, tmp_path: Path) -> None:
    """Validate a manifest against the 6.6 and the 6.7 XSD with xmllint, as CI does."""
    xmllint = shutil.which("xmllint")
    assert xmllint, "xmllint is required: apt-get install -y libxml2-utils"
    path = tmp_path / "manifest.xml"
    path.write_text(manifest, encoding="utf-8")
    for schema in SCHEMAS:
        result = subprocess.run(
            [xmllint, "--noout", "--schema", str(schema), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{schema.name}: {result.stderr}"


def parse(manifest: str) -> ET.Element:
    return ET.fromstring(manifest.encode("utf-8"))  # noqa: S314 - our own rendering, not outside input


class TestCommittedManifest:
    def test_is_valid_against_schema(self, tmp_path):
        assert_valid(COMMITTED_MANIFEST.read_text(encoding="utf-8"), tmp_path)

    def test_app_install_would_accept_it(self):
        assert app_install_errors(COMMITTED_MANIFEST.read_text(encoding="utf-8")) == []

    def test_app_install_would_refuse_order_transaction_written(self):
        manifest = COMMITTED_MANIFEST.read_text(encoding="utf-8").replace(
            'event="checkout.order.placed"', 'event="order_transaction.written"'
        )
        assert app_install_errors(manifest) == [
            "not hookable: claimbridge-checkout-order-placed: order_transaction.written"
        ]

    def test_carries_the_icon_it_declares(self):
        assert COMMITTED_MANIFEST.parent.joinpath(ICON_PATH).read_bytes() == default_icon()
        assert parse(COMMITTED_MANIFEST.read_text(encoding="utf-8")).findtext("meta/icon") == ICON_PATH

    def test_equals_fresh_render(self):
        assert COMMITTED_MANIFEST.read_text(encoding="utf-8") == render_manifest(BASE, PLACEHOLDER_SECRET), (
            "plugins/shopware/manifest.xml drifted from backend/shopware/manifest.py; re-render it"
        )

    def test_secret_is_marked_placeholder(self):
        text = COMMITTED_MANIFEST.read_text(encoding="utf-8")
        assert f"<secret>{PLACEHOLDER_SECRET}</secret>" in text
        assert "claimbridge shopware manifest" in text


class TestRenderManifest:
    @pytest.mark.parametrize(
        "options",
        [
            {},
            {"with_icon": True},
            {"checkout_gateway": False},
            {"app_name": "ClaimBridgeStaging", "version": "2.3.1"},
        ],
    )
    def test_renders_valid_manifest(self, tmp_path, options):
        assert_valid(render_manifest("https://app.example.org/cb/", "s3cr3t-" * 10, **options), tmp_path)

    def test_escapes_xml_in_secret(self, tmp_path):
        secret = "a&b<c>\"d'"
        manifest = render_manifest(BASE, secret)
        assert_valid(manifest, tmp_path)
        assert parse(manifest).findtext("setup/secret") == secret

    def test_points_every_url_at_the_backend(self):
        root = parse(render_manifest("https://app.example.org/cb/", "secret"))
        assert root.findtext("meta/name") == "ClaimBridge"
        assert root.findtext("setup/registrationUrl") == "https://app.example.org/cb/shopware/register"
        assert root.findtext("gateways/checkout") == "https://app.example.org/cb/shopware/checkout-gateway"
        module = root.find("admin/module")
        assert module.attrib == {
            "name": "claimbridge-handovers",
            "parent": "sw-order",
            "source": "https://app.example.org/cb/shopware/admin/handovers",
            "position": "50",
        }
        buttons = root.findall("admin/action-button")
        assert {(b.get("entity"), b.get("view")) for b in buttons} == {("order", "detail"), ("order", "list")}
        assert {b.get("url") for b in buttons} == {"https://app.example.org/cb/shopware/actions/handover"}

    def test_declares_lifecycle_and_order_webhooks(self):
        root = parse(render_manifest(BASE, "secret"))
        webhooks = {w.get("event"): w.get("url") for w in root.findall("webhooks/webhook")}
        assert webhooks == {
            **dict.fromkeys(LIFECYCLE_EVENTS, f"{BASE}/shopware/lifecycle"),
            **dict.fromkeys(ORDER_EVENTS, f"{BASE}/shopware/webhooks"),
        }
        assert "state_enter.order_transaction.state.paid_partially" in webhooks
        assert len({w.get("name") for w in root.findall("webhooks/webhook")}) == len(webhooks)

    def test_requests_the_permissions_the_events_need(self):
        assert app_install_errors(render_manifest(BASE, "secret")) == []

    def test_states_privacy_url_and_minimum_version(self):
        root = parse(render_manifest(BASE, "secret"))
        assert root.findtext("meta/privacy") == f"{BASE}/shopware/privacy"
        assert root.findtext("meta/compatibility") == ">=6.6.3.0"
        own = parse(render_manifest(BASE, "secret", privacy_url="https://merchant.example/datenschutz"))
        assert own.findtext("meta/privacy") == "https://merchant.example/datenschutz"

    def test_declares_custom_fields(self):
        root = parse(render_manifest(BASE, "secret"))
        fields = {
            (field_set.find("related-entities")[0].tag, f.tag, f.get("name"))
            for field_set in root.findall("custom-fields/custom-field-set")
            for f in field_set.find("fields")
        }
        assert fields == {
            ("order", "text", "claimbridge_case_status"),
            ("order", "text", "claimbridge_case_id"),
            ("order", "datetime", "claimbridge_handed_over_at"),
            ("order", "text", "claimbridge_risk_check_id"),
            ("order", "text", "claimbridge_paid_amount"),
            ("order", "datetime", "claimbridge_paid_at"),
            ("order", "bool", "claimbridge_invoice_refused"),
            ("order", "text-area", "claimbridge_notes"),
            ("order", "bool", "claimbridge_invoice_has_default_notice"),
            ("customer", "bool", "claimbridge_invoice_blocked"),
        }
        labels = {
            f.get("name"): {label.get("lang", "en-GB") for label in f.findall("label")}
            for f in root.iter()
            if (f.get("name") or "").startswith("claimbridge_")
        }
        assert all(languages == {"en-GB", "de-DE"} for languages in labels.values()), labels

    def test_declares_every_custom_field_the_connector_writes(self):
        root = parse(render_manifest(BASE, "secret"))
        declared = {f.get("name") for f in root.iter() if (f.get("name") or "").startswith("claimbridge_")}
        written = {
            value
            for name, value in vars(shops_base).items()
            if name.endswith("_FIELD") and isinstance(value, str) and value.startswith("claimbridge_")
        }
        assert written <= declared

    def test_labels_in_german_and_english(self):
        root = parse(render_manifest(BASE, "secret"))
        assert [label.get("lang", "en-GB") for label in root.findall("meta/label")] == ["en-GB", "de-DE"]
        assert [d.get("lang", "en-GB") for d in root.findall("meta/description")] == ["en-GB", "de-DE"]

    def test_without_gateway_for_older_shops(self):
        assert parse(render_manifest(BASE, "secret", checkout_gateway=False)).find("gateways") is None

    @pytest.mark.parametrize(
        ("base_url", "error"),
        [
            ("ftp://x.example", "http"),
            ("https://x.example/?a=1", "query"),
            ("claimbridge.example.com", "http"),
        ],
    )
    def test_rejects_bad_base_url(self, base_url, error):
        with pytest.raises(ValueError, match=error):
            render_manifest(base_url, "secret")

    def test_rejects_bad_app_name_and_empty_secret(self):
        with pytest.raises(ValueError, match="app name"):
            render_manifest(BASE, "secret", app_name="Claim Bridge")
        with pytest.raises(ValueError, match="secret"):
            render_manifest(BASE, " ")

    def test_normalises_trailing_slash(self):
        assert normalise_base_url(" https://x.example/app/ ") == "https://x.example/app"


class TestBuildAppZip:
    def test_contains_manifest_and_icon_in_app_folder(self, tmp_path):
        archive = zipfile.ZipFile(io.BytesIO(build_app_zip(BASE, "secret")))
        assert archive.namelist() == ["ClaimBridge/manifest.xml", f"ClaimBridge/{ICON_PATH}"]
        assert archive.read(f"ClaimBridge/{ICON_PATH}") == default_icon()
        manifest = archive.read("ClaimBridge/manifest.xml").decode()
        assert manifest == render_manifest(BASE, "secret")
        assert_valid(manifest, tmp_path)

    def test_includes_icon_and_declares_it(self):
        archive = zipfile.ZipFile(
            io.BytesIO(build_app_zip(BASE, "secret", icon=PNG, app_name="ClaimBridgeDev"))
        )
        assert archive.namelist() == ["ClaimBridgeDev/manifest.xml", f"ClaimBridgeDev/{ICON_PATH}"]
        assert archive.read(f"ClaimBridgeDev/{ICON_PATH}") == PNG
        assert parse(archive.read("ClaimBridgeDev/manifest.xml").decode()).findtext("meta/icon") == ICON_PATH

    def test_is_reproducible(self):
        assert build_app_zip(BASE, "secret", icon=PNG) == build_app_zip(BASE, "secret", icon=PNG)

    def test_rejects_icon_that_is_not_png(self):
        with pytest.raises(ValueError, match="PNG"):
            build_app_zip(BASE, "secret", icon=b"GIF89a")
