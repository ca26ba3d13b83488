"""Open the plugin's admin pages in Chromium as a shop manager; save screenshots, fail on console errors.

    screenshots.py SHOP_URL OUT_DIR

Logs in as the install's admin, then for English and German shows WooCommerce → Settings → ClaimBridge and
WooCommerce → Collection. Any console error, uncaught page error or PHP error text in a page fails the run
(run-tests.sh also fails on PHP errors the shop logged). Uses Debian's Chromium, never a downloaded browser.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
PAGES = {
    "settings": "/wp-admin/admin.php?page=wc-settings&tab=claimbridge",
    "collection": "/wp-admin/admin.php?page=claimbridge-collection",
}
# What PHP prints when display_errors is on; the test install logs instead, so any of these is a failure.
PHP_ERROR = re.compile(r"<b>(Fatal error|Warning|Notice|Deprecated|Parse error)</b>:")


def log_in(page: Page, shop: str) -> None:
    """Log in through wp-login.php as the install's administrator."""
    page.goto(f"{shop}/wp-login.php")
    page.fill("#user_login", "admin")
    page.fill("#user_pass", "password")
    page.click("#wp-submit")
    page.wait_for_url(re.compile(r"/wp-admin/"))


def set_language(page: Page, shop: str, locale: str) -> None:
    """Switch the admin user's language on the profile screen."""
    page.goto(f"{shop}/wp-admin/profile.php")
    # wp-admin/user-edit.php lists English (United States) with an empty value.
    page.select_option("#locale", value="" if locale == "en_US" else locale)
    page.click("#submit")
    page.wait_for_load_state()


def check_console(page: Page, name: str, problems: list[str]) -> None:
    """Require the merchant console to show inside the Collection page (a refused frame stays empty)."""
    element = page.query_selector("iframe.claimbridge-console")
    frame = element.content_frame() if element else None
    if frame is None:
        problems.append(f"{name}: no console frame")
        return
    try:
        frame.wait_for_url("**/console/**", timeout=15_000)
        frame.wait_for_selector("body *", timeout=15_000)
    except PlaywrightTimeout:
        problems.append(f"{name}: the console did not show in its frame ({frame.url or 'nothing loaded'})")


def main() -> int:
    """Take the screenshots; return 1 when a page logged an error."""
    shop, out = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        current = {"name": "login"}

        def on_console(message: ConsoleMessage) -> None:
            # No internet here: what WordPress and WooCommerce fetch from elsewhere (avatars, fonts) cannot
            # resolve; the shop and the console are on loopback and need no name lookup.
            if message.type == "error" and "ERR_NAME_NOT_RESOLVED" not in message.text:
                problems.append(f"{current['name']}: console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"{current['name']}: page error: {error}"))
        log_in(page, shop)
        for language, locale in (("en", "en_US"), ("de", "de_DE")):
            set_language(page, shop, locale)
            for name, path in PAGES.items():
                current["name"] = f"{name} ({language})"
                response = page.goto(shop + path)
                page.wait_for_load_state("networkidle")
                if response is None or response.status != 200:
                    problems.append(f"{current['name']}: HTTP {response.status if response else 'none'}")
                if PHP_ERROR.search(page.content()):
                    problems.append(f"{current['name']}: PHP error in the page")
                if name == "collection":
                    check_console(page, current["name"], problems)
                page.screenshot(path=str(out / f"woocommerce-{name}-{language}.png"), full_page=True)
        browser.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
