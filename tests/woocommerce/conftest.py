"""Fixtures: fake WooCommerce and Shopware shops on loopback, and the backend served for their webhooks."""

import pytest

from tests.orders.support import backend_server, shopware, woocommerce

__all__ = ["backend_server", "shopware", "woocommerce"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the real-shop suite against the SQLite backend only: the shop is the part under test there, and
    the backend's PostgreSQL paths are the same ones the double's suite runs on both databases."""
    real_shop_on_postgres = [
        item
        for item in items
        if item.nodeid.startswith("tests/woocommerce/test_real_shop.py") and "[postgresql" in item.nodeid
    ]
    if real_shop_on_postgres:
        config.hook.pytest_deselected(items=real_shop_on_postgres)
        items[:] = [item for item in items if item not in real_shop_on_postgres]
