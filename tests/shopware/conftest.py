"""Fixtures driving the real app as a Shopware shop would: the simulator over WSGI or over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.shopware.models import ShopwareShop
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.shopware_shop import ShopSimulator, Transport, http_transport, wsgi_transport

APP_SECRET = "app-secret-for-tests-0123456789abcdef"


@pytest.fixture
def shopware_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app with a Shopware app secret configured."""
    monkeypatch.setitem(app.config, "CLAIMBRIDGE_SHOPWARE_APP_SECRET", APP_SECRET)
    return app


@pytest.fixture
def wsgi(shopware_app: Flask) -> Transport:
    return wsgi_transport(shopware_app.test_client())


@pytest.fixture
def live_server_url(shopware_app: Flask, live_server_url: str) -> str:
    """The app served on loopback, with the Shopware app secret configured."""
    return live_server_url


@pytest.fixture
def http(live_server_url: str) -> Transport:
    return http_transport(live_server_url)


@pytest.fixture
def make_shop(wsgi: Transport) -> Callable[..., ShopSimulator]:
    """Return a factory of shop simulators talking to the app (over WSGI unless a transport is given)."""

    def factory(transport: Transport | None = None, **options: object) -> ShopSimulator:
        options.setdefault("app_secret", APP_SECRET)
        return ShopSimulator(transport or wsgi, **options)

    return factory


@pytest.fixture
def shop(make_shop: Callable[..., ShopSimulator]) -> ShopSimulator:
    """A shop that completed registration."""
    simulator = make_shop()
    simulator.register()
    return simulator


def stored_shop(shop_id: str) -> ShopwareShop:
    """Return the app's row of a shop, read fresh from the database."""
    db.session.expire_all()
    return db.session.scalars(
        db.select(ShopwareShop).join(ShopConnection).where(ShopConnection.shop_id == shop_id)
    ).one()


def shifted_clock(delta: timedelta) -> Callable[[], datetime]:
    """Return a clock running delta ahead of (negative: behind) real time."""
    return lambda: datetime.now(UTC) + delta


@pytest.fixture(params=["6.6.4.0", "6.7.0.0"])
def shop_admin_server(request, make_shop) -> Iterator[tuple[ShopSimulator, FakeShopwareAdmin, FakeServer]]:
    """A registered shop of each version (6.6.4, 6.7) whose Admin API runs on loopback, with its server."""
    simulator = make_shop(sw_version=request.param)
    admin = FakeShopwareAdmin(
        client_id=simulator.api_key, client_secret=simulator.secret_key, version=request.param
    )
    with admin.serve() as server:
        simulator.shop_url = server.url
        simulator.register()
        yield simulator, admin, server


@pytest.fixture
def shop_with_admin(shop_admin_server) -> tuple[ShopSimulator, FakeShopwareAdmin]:
    """A registered shop of each version (6.6.4, 6.7) whose Admin API runs on loopback."""
    simulator, admin, _ = shop_admin_server
    return simulator, admin
