"""Fixtures: fake WooCommerce and Shopware shops on loopback, and the backend served for their webhooks."""

from tests.orders.support import backend_server, shopware, woocommerce

__all__ = ["backend_server", "shopware", "woocommerce"]
