"""Shared helpers for the ingestion tests: fake shops on loopback, connections made through the API, the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient

from backend.cli import main
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce

CONNECT_SCOPES = "settings:write orders:write"


@dataclass
class ServedShop:
    """A fake shop and the loopback server it answers on."""

    fake: Any
    server: FakeServer

    @property
    def url(self) -> str:
        return self.server.url

    def credentials(self) -> dict[str, str]:
        """Return the API credentials the fake accepts, as the connections endpoint wants them."""
        if isinstance(self.fake, FakeWooCommerce):
            return {"consumer_key": self.fake.consumer_key, "consumer_secret": self.fake.consumer_secret}
        return {"api_key": self.fake.client_id, "secret_key": self.fake.client_secret}


@contextmanager
def served(fake: FakeWooCommerce | FakeShopwareAdmin) -> Iterator[ServedShop]:
    """Serve a fake shop on a free loopback port."""
    with fake.serve() as server:
        yield ServedShop(fake, server)


def connect(
    client: FlaskClient, headers: dict[str, str], shop: ServedShop, platform: str, **overrides: Any
) -> Any:
    """POST /api/v1/connections for a served fake shop; return the response."""
    body = {"platform": platform, "shop_url": shop.url, "credentials": shop.credentials(), **overrides}
    return client.post("/api/v1/connections", json=body, headers=headers)


def cli_runner(app: Flask) -> Callable[..., Result]:
    """Return a function invoking ``claimbridge …`` against the test app."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)

    return invoke


@pytest.fixture
def backend_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """Serve this app on loopback and make it the public URL, so shops can deliver webhooks to it."""
    with FakeServer(app) as server:
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_PUBLIC_URL", server.url)
        yield server


@pytest.fixture
def woocommerce() -> Iterator[ServedShop]:
    """A fake WooCommerce shop on loopback."""
    with served(FakeWooCommerce()) as shop:
        yield shop


@pytest.fixture
def shopware() -> Iterator[ServedShop]:
    """A fake Shopware Admin API on loopback."""
    with served(FakeShopwareAdmin()) as shop:
        yield shop
