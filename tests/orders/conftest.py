"""Fixtures: fake WooCommerce and Shopware shops on loopback."""

from tests.orders.support import shopware, woocommerce

__all__ = ["shopware", "woocommerce"]
