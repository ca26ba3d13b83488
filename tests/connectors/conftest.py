"""Fixtures for connector tests: no real network, no real waiting, local fakes."""

from __future__ import annotations

import abc
import ipaddress
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from connectors.http import Backoff
from connectors.shops import ShopConnector, ShopwareConnector, WooCommerceConnector
from connectors.shops.base import NOTES_FIELD, RISK_CHECK_FIELD
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce


@pytest.fixture(autouse=True)
def block_external_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address: tests talk to local fakes only."""
    original_connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback:
            raise AssertionError(f"test tried to reach the network: {address}")
        original_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def no_wait() -> Backoff:
    """Return a backoff that never waits (Retry-After still reaches the sleep recorder)."""
    return Backoff(base=0.0, cap=0.0)


class SleepRecorder:
    """Stand-in for ``time.sleep`` that records requested delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Iterator[SleepRecorder]:
    """Return a sleep recorder to pass as ``sleep=``."""
    yield SleepRecorder()


class ShopHarness(abc.ABC):
    """A connector's fake shop plus platform-neutral ways to seed and inspect it."""

    platform: str
    orders_path: str
    other_payment_method: str

    def __init__(self, fake: Any, server: FakeServer, backoff: Backoff, sleeps: SleepRecorder) -> None:
        self.fake = fake
        self.server = server
        self.backoff = backoff
        self.sleeps = sleeps

    def connector(self, **overrides: Any) -> ShopConnector:
        """Return a connector for the fake with test defaults (no waiting, pages of two)."""
        return self.connector_at(self.server.url, **overrides)

    @abc.abstractmethod
    def connector_at(self, url: str, **overrides: Any) -> ShopConnector:
        """Return a connector for ``url`` with the fake's credentials."""

    @abc.abstractmethod
    def seed(self, **kwargs: Any) -> str:
        """Create an order in the fake shop; return its external id."""

    @abc.abstractmethod
    def touch(self, external_id: str, when: datetime) -> None:
        """Mark an order as modified at ``when``."""

    @abc.abstractmethod
    def case_fields(self, external_id: str) -> dict[str, Any]:
        """Return the ClaimBridge fields the shop stores for an order."""

    @abc.abstractmethod
    def notes(self, external_id: str) -> list[str]:
        """Return the order notes staff can see."""

    @abc.abstractmethod
    def admin_notices(self) -> list[str]:
        """Return the messages shown to shop admins."""


class ShopwareHarness(ShopHarness):
    platform = "shopware"
    orders_path = "/api/search/order"
    other_payment_method = "payment_cashpayment"

    def connector_at(self, url: str, **overrides: Any) -> ShopConnector:
        options = {"allow_private": True, "backoff": self.backoff, "sleep": self.sleeps, "page_size": 2}
        return ShopwareConnector(
            url, self.fake.client_id, self.fake.client_secret, **{**options, **overrides}
        )

    def seed(
        self,
        *,
        total: str = "119.00",
        created_at: datetime | None = None,
        payment_method: str = "payment_invoicepayment",
        risk_check_id: str | None = None,
    ) -> str:
        fields = {RISK_CHECK_FIELD: risk_check_id} if risk_check_id else None
        return self.fake.add_order(
            total=total, created_at=created_at, payment_method=payment_method, custom_fields=fields
        )

    def touch(self, external_id: str, when: datetime) -> None:
        self.fake.touch(external_id, when)

    def case_fields(self, external_id: str) -> dict[str, Any]:
        return dict(self.fake.order(external_id)["customFields"] or {})

    def notes(self, external_id: str) -> list[str]:
        return self.case_fields(external_id).get(NOTES_FIELD, "").splitlines()

    def admin_notices(self) -> list[str]:
        return [notification["message"] for notification in self.fake.notifications]


class WooCommerceHarness(ShopHarness):
    platform = "woocommerce"
    orders_path = "/wp-json/wc/v3/orders"
    other_payment_method = "bacs"

    def connector_at(self, url: str, **overrides: Any) -> ShopConnector:
        options = {"allow_private": True, "backoff": self.backoff, "sleep": self.sleeps, "page_size": 2}
        return WooCommerceConnector(
            url, self.fake.consumer_key, self.fake.consumer_secret, **{**options, **overrides}
        )

    def seed(
        self,
        *,
        total: str = "119.00",
        created_at: datetime | None = None,
        payment_method: str = "german_market_purchase_on_account",
        risk_check_id: str | None = None,
    ) -> str:
        meta = {f"_{RISK_CHECK_FIELD}": risk_check_id} if risk_check_id else None
        return str(
            self.fake.add_order(total=total, created_at=created_at, payment_method=payment_method, meta=meta)
        )

    def touch(self, external_id: str, when: datetime) -> None:
        self.fake.touch(int(external_id), when)

    def case_fields(self, external_id: str) -> dict[str, Any]:
        # ClaimBridge's meta is protected (leading underscore): hidden from the order screen's custom fields.
        return self.fake.case_fields(int(external_id))

    def notes(self, external_id: str) -> list[str]:
        return [note["note"] for note in self.fake.notes[int(external_id)]]

    def admin_notices(self) -> list[str]:
        return [notice["message"] for notice in self.fake.notices]


HARNESSES: dict[str, tuple[type[ShopHarness], Callable[[], Any]]] = {
    "shopware": (ShopwareHarness, FakeShopwareAdmin),
    "woocommerce": (WooCommerceHarness, FakeWooCommerce),
}


@pytest.fixture(params=sorted(HARNESSES))
def shop(request: pytest.FixtureRequest, no_wait: Backoff, sleeps: SleepRecorder) -> Iterator[ShopHarness]:
    """Yield a harness per platform: a running fake shop and a way to build connectors for it."""
    harness_class, make_fake = HARNESSES[request.param]
    fake = make_fake()
    with fake.serve() as server:
        yield harness_class(fake, server, no_wait, sleeps)
