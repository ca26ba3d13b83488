"""Fixtures for connector tests: no real network, no real waiting, local fakes."""

from __future__ import annotations

import abc
import base64
import ipaddress
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.http import Backoff
from connectors.shops import ShopConnector, ShopwareConnector, WooCommerceConnector
from connectors.shops.base import NOTES_FIELD, RISK_CHECK_FIELD
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin
from tests.fakes.woocommerce_rest import FakeWooCommerce
from tests.woocommerce.real_shop import WOOCOMMERCE_DIR_ENV, Forwarder, RealShop, real_shop


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


# A seeded order as a checkout leaves it: one save (so the dates are the seed's), on hold, without the
# status-change notes WooCommerce writes on that save (the doubles' orders start without notes too).
SEED_ORDER = r"""
$in = json_decode( base64_decode( getenv( 'CB_SEED' ) ), true );
$address = array(
	'first_name' => 'Erika', 'last_name' => 'Mustermann', 'email' => 'erika@example.com',
	'address_1' => 'Musterstraße 12a', 'postcode' => '10115', 'city' => 'Berlin', 'country' => 'DE',
);
$order = new WC_Order();
$order->add_product( wc_get_product( $in['product_id'] ), 1, array( 'subtotal' => $in['total'], 'total' => $in['total'] ) );
$order->set_address( $address, 'billing' );
$order->set_address( $address, 'shipping' );
$order->set_payment_method( $in['payment_method'] );
$order->set_currency( 'EUR' );
$order->calculate_totals( false );
$order->set_date_created( $in['created_at'] );
$order->set_date_modified( $in['created_at'] );
if ( $in['risk_check_id'] ) {
	$order->update_meta_data( '_claimbridge_risk_check_id', $in['risk_check_id'] );
}
$order->set_status( 'on-hold' );
$order->save();
foreach ( wc_get_order_notes( array( 'order_id' => $order->get_id() ) ) as $note ) {
	wc_delete_order_note( $note->id );
}
// The status change saved the order again (stock reduced): give it back the seed's modification date.
$order = wc_get_order( $order->get_id() );
$order->set_date_modified( $in['created_at'] );
$order->save();
echo $order->get_id();
"""

RESET_SHOP = r"""
foreach ( wc_get_orders( array( 'limit' => -1, 'status' => 'any', 'return' => 'ids' ) ) as $id ) {
	wc_get_order( $id )->delete( true );
}
global $wpdb;
$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s", $wpdb->esc_like( 'claimbridge_notice_' ) . '%' ) );
delete_option( 'claimbridge_admin_notices' );
echo 1;
"""


class RealWooCommerceHarness(WooCommerceHarness):
    """A real WooCommerce 7.9 shop (HPOS, with the ClaimBridge plugin) behind a recording, fault-injecting proxy."""

    platform = "woocommerce"

    def __init__(self, real: RealShop, server: FakeServer, backoff: Backoff, sleeps: SleepRecorder) -> None:
        super().__init__(real, server, backoff, sleeps)
        self.real = real

    def seed(
        self,
        *,
        total: str = "119.00",
        created_at: datetime | None = None,
        payment_method: str = "german_market_purchase_on_account",
        risk_check_id: str | None = None,
    ) -> str:
        when = created_at or datetime.now(UTC).replace(microsecond=0)
        seed = {
            "product_id": self.real.product_id,
            "total": total,
            "created_at": int(when.timestamp()),
            "payment_method": payment_method,
            "risk_check_id": risk_check_id,
        }
        encoded = base64.b64encode(json.dumps(seed).encode()).decode()
        return str(self.real.php(f"putenv( 'CB_SEED={encoded}' );\n{SEED_ORDER}"))

    def touch(self, external_id: str, when: datetime) -> None:
        self.real.php(
            f"$o = wc_get_order( {int(external_id)} ); $o->set_date_modified( {int(when.timestamp())} ); "
            "$o->save(); echo 1;"
        )

    def case_fields(self, external_id: str) -> dict[str, Any]:
        return {key[1:]: row["value"] for key, row in self.real.meta_rows(int(external_id)).items()}

    def notes(self, external_id: str) -> list[str]:
        return self.real.php(
            f"$notes = wc_get_order_notes( array( 'order_id' => {int(external_id)} ) );"
            " usort( $notes, function ( $a, $b ) { return $a->id - $b->id; } );"
            " echo wp_json_encode( wp_list_pluck( $notes, 'content' ) );"
        )

    def admin_notices(self) -> list[str]:
        return self.real.php(
            "echo wp_json_encode( array_reverse( wp_list_pluck( get_option( 'claimbridge_admin_notices', array() ),"
            " 'message' ) ) );"
        )

    def reset(self) -> None:
        """Empty the shop of orders and notices, and the proxy of faults and recorded requests."""
        self.real.php(RESET_SHOP)
        self.server.clear_faults()
        self.server.clear_requests()


@pytest.fixture(scope="session")
def real_woocommerce() -> Iterator[tuple[RealShop, FakeServer]]:
    """A real WooCommerce shop on HPOS whose home URL is a recording proxy's (OAuth 1.0a signs the home URL)."""
    woocommerce_dir = os.environ.get(WOOCOMMERCE_DIR_ENV)
    if not woocommerce_dir:
        pytest.skip(f"{WOOCOMMERCE_DIR_ENV} names no WooCommerce release tree (CI sets it where one exists)")
    forwarder = Forwarder()
    with FakeServer(forwarder) as server, real_shop(woocommerce_dir, home_url=server.url) as real:
        forwarder.origin = real.origin
        real.set_storage("hpos")
        yield real, server


HARNESSES: dict[str, tuple[type[ShopHarness], Callable[[], Any]]] = {
    "shopware": (ShopwareHarness, FakeShopwareAdmin),
    "woocommerce": (WooCommerceHarness, FakeWooCommerce),
}
REAL_WOOCOMMERCE = "woocommerce-real"


@pytest.fixture(params=[*sorted(HARNESSES), REAL_WOOCOMMERCE])
def shop(request: pytest.FixtureRequest, no_wait: Backoff, sleeps: SleepRecorder) -> Iterator[ShopHarness]:
    """Yield a harness per platform: a running fake shop (or the real WooCommerce) and its connectors."""
    if request.param == REAL_WOOCOMMERCE:
        real, server = request.getfixturevalue("real_woocommerce")
        harness = RealWooCommerceHarness(real, server, no_wait, sleeps)
        harness.reset()
        yield harness
        return
    harness_class, make_fake = HARNESSES[request.param]
    fake = make_fake()
    with fake.serve() as server:
        yield harness_class(fake, server, no_wait, sleeps)
