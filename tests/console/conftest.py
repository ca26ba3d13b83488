"""Console fixtures: a merchant with handover proposals, console sessions, and Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from backend.console import sessions
from backend.extensions import db
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.merchants.models import Merchant, ShopConnection
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import _current_base_rate, set_rules

__all__ = ["_current_base_rate"]  # the handovers tests' base-rate fixture applies here too (autouse)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def propose(app: Flask) -> Callable[..., Handover]:
    """Return a factory of handover proposals: an overdue, fully dunned receivable of the connection, proposed."""

    def factory(connection: ShopConnection, external_id: str, **options: Any) -> Handover:
        merchant = db.session.get(Merchant, connection.merchant_id)
        set_rules(merchant)
        receivable = overdue_receivable(connection, external_id, **options)
        propose_handovers()
        db.session.commit()
        return db.session.query(Handover).filter_by(receivable_id=receivable.id).one()

    return factory


@pytest.fixture
def shop(merchant: Merchant) -> ShopConnection:
    return make_connection(merchant, "api", "https://shop.example")


@pytest.fixture
def console_token(app: Flask) -> Callable[..., str]:
    """Return a factory of console session tokens for a merchant's user."""

    def factory(merchant: Merchant, *, user: str = "Anna Admin", language: str = "en") -> str:
        return sessions.start_session(
            merchant.id, user_name=user, language=language, channel=sessions.CHANNEL_LINK
        ).token

    return factory


# -- the browser ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class PageProblems(list):
    """Console errors, warnings and uncaught exceptions a page produced (CSP violations included)."""

    def besides_status(self, status: int) -> list[str]:
        """Return the problems other than the browser's note that a page was answered with ``status``."""
        note = f"Failed to load resource: the server responded with a status of {status} "
        return [problem for problem in self if note not in problem]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, PageProblems]]]:
    """Return a factory of pages in a fresh context (a laptop screen) that record their console problems."""
    contexts = []

    def factory(locale: str = "en-GB") -> tuple[Any, PageProblems]:
        context = browser.new_context(locale=locale, viewport=LAPTOP)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        problems = PageProblems()
        page.on(
            "console",
            lambda message: (
                problems.append(f"{message.type}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        return page, problems

    yield factory
    for context in contexts:
        context.close()


def serious_violations(page: Any) -> list[str]:
    """Run axe-core (shipped inside axe-playwright-python) and return serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot where CONTRIBUTING says reviewers find them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
