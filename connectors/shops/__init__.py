"""Shop connectors: one ``ShopConnector`` interface, one implementation per platform."""

from connectors.shops.base import (
    Address,
    Buyer,
    LineItem,
    OrderState,
    PaymentAction,
    ShopConnector,
    ShopOrder,
)
from connectors.shops.shopware import ShopwareConnector
from connectors.shops.woocommerce import WooCommerceConnector

__all__ = [
    "Address",
    "Buyer",
    "LineItem",
    "OrderState",
    "PaymentAction",
    "ShopConnector",
    "ShopOrder",
    "ShopwareConnector",
    "WooCommerceConnector",
]
