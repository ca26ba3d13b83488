"""Checkout gateway payloads for the endpoint tests, built from the captured fixtures."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.shopware_shop import load_fixture

INVOICE = "payment_invoicepayment"
CUSTOMER_ID = "f1e2d3c4b5a697887766554433221100"


def checkout_payload(
    *,
    amount: str = "49.90",
    email: str = "jana.becker@example.de",
    shipping_street: str | None = None,
    billing_zipcode: str = "10115",
    billing_city: str = "Berlin",
    cart_token: str = "Wq2Xh5fJ9sYtKp3LmN8vR1cB6dE4gH7a",
    locale: str | None = None,
    selected: str = INVOICE,
) -> dict[str, Any]:
    """Return a registered customer's checkout; shipping goes to the billing address unless a street is given.

    Shaped as Shopware 6.6 sends it: ``default*Address`` on the customer, the chosen shipping address in
    ``shippingLocation.address`` and the cart's delivery, no ``active*Address``.
    """
    payload = copy.deepcopy(load_fixture("gateway_registered_customer"))
    payload["cart"]["token"] = payload["salesChannelContext"]["token"] = cart_token
    payload["cart"]["price"]["totalPrice"] = float(amount)
    context = payload["salesChannelContext"]
    customer = context["customer"]
    customer["email"] = email
    billing = customer["defaultBillingAddress"]
    billing.update(zipcode=billing_zipcode, city=billing_city)
    # The buyer chooses where this order goes; the customer's default shipping address (a Packstation in the
    # fixture) stays as it is.
    shipping = copy.deepcopy(billing)
    if shipping_street is not None:
        shipping = copy.deepcopy(customer["defaultShippingAddress"]) | {"street": shipping_street}
    context["shippingLocation"]["address"] = shipping
    payload["cart"]["deliveries"][0]["location"]["address"] = copy.deepcopy(shipping)
    if locale is not None:
        payload["salesChannelContext"]["languageInfo"] = {"name": locale, "localeCode": locale}
    method_id = next(key for key, name in payload["paymentMethods"].items() if name == selected)
    context["paymentMethod"] = {"id": method_id, "technicalName": selected, "apiAlias": "payment_method"}
    return payload


def risky_payload(**changes: Any) -> dict[str, Any]:
    """Return a first order of 900 € to a Packstation, with a disposable e-mail and a postcode of another city."""
    options: dict[str, Any] = {
        "amount": "900.00",
        "email": "jana.becker@mailinator.com",
        "shipping_street": "Packstation 123",
        "billing_zipcode": "80331",
    }
    return checkout_payload(**(options | changes))


def logged_out(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the payload as the cart page sends it before login: no customer."""
    changed = copy.deepcopy(payload)
    changed["salesChannelContext"]["customer"] = None
    return changed


def remove_invoice() -> dict[str, Any]:
    """Return the command that removes Shopware's invoice payment method."""
    return {"command": "remove-payment-method", "payload": {"paymentMethodTechnicalName": INVOICE}}
