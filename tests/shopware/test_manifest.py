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
    normalise_base_url,
    render_manifest,
)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_MANIFEST = ROOT / "plugins" / "shopware" / "manifest.xml"
# Copy of shopware/shopware src/Core/Framework/App/Manifest/Schema/manifest-2.0.xsd (../shared/reference/shopware).
SCHEMA = Path(__file__).parent / "fixtures" / "manifest-2.0.xsd"
BASE = "https://claimbridge.example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def assert_valid(manifest: str, tmp_path: Path) -> None:
    """Validate a manifest against the XSD with xmllint, as CI does."""
    xmllint = shutil.which("xmllint")
    assert xmllint, "xmllint is required: apt-get install -y libxml2-utils"
    path = tmp_path / "manifest.xml"
    path.write_text(manifest, encoding="utf-8")
    result = subprocess.run(
        [xmllint, "--noout", "--schema", str(SCHEMA), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def parse(manifest: str) -> ET.Element:
    return ET.fromstring(manifest.encode("utf-8"))  # noqa: S314 - our own rendering, not outside input


class TestCommittedManifest:
    def test_is_valid_against_schema(self, tmp_path):
        assert_valid(COMMITTED_MANIFEST.read_text(encoding="utf-8"), tmp_path)

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
        root = parse(render_manifest(BASE, "secret"))
        granted = {(p.tag, p.text) for p in root.find("permissions")}
        assert {
            ("read", "order"),
            ("read", "order_transaction"),
            ("update", "order"),
            ("update", "customer"),
        } <= granted
        assert ("create", "state_machine_history") in granted
        assert ("permission", "notification:create") in granted

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
            ("customer", "bool", "claimbridge_invoice_blocked"),
        }

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
    def test_contains_manifest_in_app_folder(self, tmp_path):
        archive = zipfile.ZipFile(io.BytesIO(build_app_zip(BASE, "secret")))
        assert archive.namelist() == ["ClaimBridge/manifest.xml"]
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
