"""Turn a validated pushed order (API body or CSV row, see ``OrderPushSchema``) into a ``ShopOrder``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from backend.dates import BERLIN
from connectors.shops.base import Address, Buyer, LineItem, OrderState, ShopOrder


def berlin_noon(day: date) -> datetime:
    """Return a moment on ``day`` in Berlin (noon, far from any midnight a time-zone shift could cross)."""
    return datetime.combine(day, time(12), BERLIN)


def shop_order_from_push(external_id: str, data: Mapping[str, Any]) -> ShopOrder:
    """Build the normalised order of a push; the pushed state is both the platform state and ours."""
    state = OrderState(data["state"])
    shipping = data.get("shipping_address")
    return ShopOrder(
        external_id=external_id,
        number=data["number"],
        state=state,
        platform_order_state=state.value,
        platform_payment_state=None,
        total=data["total"],
        paid_amount=data.get("paid_amount"),
        currency=data["currency"],
        payment_method=data["payment_method"],
        ordered_at=data["ordered_at"],
        invoiced_at=berlin_noon(data["invoice_date"]) if data.get("invoice_date") else None,
        buyer=Buyer(**data["buyer"]),
        billing_address=Address(**data["billing_address"]),
        shipping_address=Address(**shipping) if shipping else None,
        line_items=tuple(
            LineItem(**{**item, "external_id": item.get("external_id") or str(position)})
            for position, item in enumerate(data.get("items") or [], start=1)
        ),
        risk_check_id=data.get("risk_check_id"),
        debtor_kind=data.get("debtor_kind"),
        vat_id=data.get("vat_id"),
        invoice_has_default_notice=data.get("invoice_has_default_notice"),
        shipped_at=data.get("shipped_at"),
    )
