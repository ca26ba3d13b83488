"""The admin module page rendered by headless Chromium from the real app: no console errors, sw-app-loaded sent.

Chromium logs every console message of the page to stderr (``--enable-logging=stderr``) as ``…:CONSOLE:<line>]``
or ``…:CONSOLE(<line>)]``, uncaught exceptions and CSP violations included; the page itself logs nothing, so
any such line fails the test. The page marks ``<html data-sw-app-loaded="posted">`` right after posting
``sw-app-loaded``, which ``--dump-dom`` shows. Skipped only where Chromium is not installed (CI installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from backend.shopware import services
from backend.shopware.services import HandoverRow
from tests.fakes.shopware_shop import ShopSimulator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")

CONSOLE_LINE = re.compile(r":CONSOLE[:(]\d+\)?\]|Uncaught")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROWSER_TIMEOUT = 60


def chromium(tmp_path: Path, url: str, *mode: str) -> tuple[str, list[str]]:
    """Run headless Chromium on url; return its stdout and the console lines it logged."""
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,900",
            *mode,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=True,
    )
    return result.stdout, [line for line in result.stderr.splitlines() if CONSOLE_LINE.search(line)]


def proposals() -> list[HandoverRow]:
    return [
        HandoverRow(
            id=index,
            order_number=f"1000{index}",
            buyer_name=name,
            principal=Decimal(principal),
            interest=Decimal("3.42"),
            # Two Mahnungen at €2.50; a business also owes the €40 flat fee (§288(5) BGB).
            fees=Decimal(fees),
            total=Decimal(principal) + Decimal("3.42") + Decimal(fees),
            currency="EUR",
            status="proposed",
        )
        for index, (name, principal, fees) in enumerate(
            [
                ("Jana Becker", "249.90", "5.00"),
                ("Lukas Schmidt", "1289.00", "5.00"),
                ("Huber Innenausbau GmbH", "89.90", "45.00"),
            ],
            1,
        )
    ]


@pytest.fixture
def page_shop(shop: ShopSimulator, monkeypatch: pytest.MonkeyPatch) -> ShopSimulator:
    monkeypatch.setattr(services, "list_handover_rows", lambda merchant_id: proposals())
    return shop


class TestConsoleCapture:
    def test_an_uncaught_error_is_seen(self, tmp_path):
        page = tmp_path / "broken.html"
        page.write_text("<p>x</p><script>throw new Error('boom')</script>", encoding="utf-8")
        _, console = chromium(tmp_path, page.as_uri(), "--dump-dom")
        assert any("Uncaught Error: boom" in line for line in console)


class TestAdminPageInChromium:
    @pytest.mark.parametrize("user_language", ["de-DE", "en-GB"])
    def test_renders_without_console_errors_and_posts_sw_app_loaded(
        self, page_shop, live_server_url, tmp_path, user_language
    ):
        url = live_server_url + page_shop.iframe_path(user_language=user_language)
        dom, console = chromium(tmp_path, url, "--dump-dom")
        assert console == []
        assert 'data-sw-app-loaded="posted"' in dom
        assert "Jana Becker" in dom

    @pytest.mark.parametrize("user_language", ["de-DE", "en-GB"])
    def test_takes_a_screenshot(self, page_shop, live_server_url, tmp_path, user_language):
        screenshot = tmp_path / f"admin-handovers-{user_language}.png"
        url = live_server_url + page_shop.iframe_path(user_language=user_language)
        _, console = chromium(tmp_path, url, f"--screenshot={screenshot}")
        assert console == []
        assert screenshot.read_bytes().startswith(PNG_SIGNATURE)

    def test_empty_page_renders_without_console_errors(self, shop, live_server_url, tmp_path):
        dom, console = chromium(tmp_path, live_server_url + shop.iframe_path(), "--dump-dom")
        assert console == []
        assert 'data-sw-app-loaded="posted"' in dom
