"""Shopware invoice documents: found through the document search, downloaded by id and deep link code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from connectors import errors
from connectors.http import Backoff
from connectors.shops import ShopwareConnector
from connectors.shops.base import OrderDocument
from connectors.shops.woocommerce import WooCommerceConnector
from tests.fakes.server import FakeServer
from tests.fakes.shopware_admin import FakeShopwareAdmin


@pytest.fixture
def fake() -> FakeShopwareAdmin:
    return FakeShopwareAdmin()


@pytest.fixture
def server(fake: FakeShopwareAdmin) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def connector(
    fake: FakeShopwareAdmin, server: FakeServer, no_wait: Backoff, sleeps
) -> Iterator[ShopwareConnector]:
    with ShopwareConnector(
        server.url, fake.client_id, fake.client_secret, allow_private=True, backoff=no_wait, sleep=sleeps
    ) as client:
        yield client


class TestInvoiceDocument:
    def test_downloads_the_newest_invoice_not_other_documents(self, fake, server, connector) -> None:
        order_id = fake.add_order()
        fake.add_document(
            order_id, content=b"%PDF old", number="7", created_at=fake.clock.now() - timedelta(1)
        )
        fake.add_document(order_id, content=b"%PDF new", number="8")
        fake.add_document(order_id, content=b"%PDF note", document_type="delivery_note")
        fake.add_document(fake.add_order(), content=b"%PDF other order", number="9")

        document = connector.invoice_document(order_id)

        assert document == OrderDocument(b"%PDF new", "invoice_8.pdf", "application/pdf", "8")
        (search,) = server.requests_to("/api/search/document")
        assert {"type": "equals", "field": "orderId", "value": order_id} in search.json()["filter"]

    def test_none_without_an_invoice_or_when_it_was_never_rendered(self, fake, connector) -> None:
        without = fake.add_order()
        unrendered = fake.add_order()
        fake.add_document(unrendered, content=None)

        assert connector.invoice_document(without) is None
        assert connector.invoice_document(unrendered) is None

    def test_a_wrong_deep_link_code_is_not_found(self, fake, connector) -> None:
        document_id = fake.add_document(fake.add_order())

        with pytest.raises(errors.NotFoundError):
            connector.request("GET", f"_action/document/{document_id}/not-the-code")

    def test_server_errors_are_typed(self, fake, server, connector) -> None:
        order_id = fake.add_order()
        fake.add_document(order_id)
        server.fail_next(10, status=503, path="/api/_action/document/")

        with pytest.raises(errors.ServerError):
            connector.invoice_document(order_id)

    def test_woocommerce_keeps_no_invoice_documents(self) -> None:
        connector = WooCommerceConnector("https://shop.example", "ck_x", "cs_x", allow_private=True)
        with connector:
            assert connector.invoice_document("17") is None
