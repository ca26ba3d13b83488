"""Check an order again after placement, where the checkout gateway could not see what the buyer chose.

- ``checkout.order.placed``: the gateway payload carries the customer's default billing address, never the one
  chosen for this order; the placed order has it.
- ``checkout.order.payment_method.changed``: "change payment method" on the order page
  (``/store-api/order/payment``) asks only the method's availability rule, never the gateway, and Shopware's
  invoice method allows after-order changes by default. A buyer refused invoice at checkout can order with
  prepayment and switch.

For an order whose current payment method is invoice-like, the buyer is checked as the order stands (the
bureau may be asked: invoice is chosen). When invoice is not allowed for them the order is marked
(``claimbridge_invoice_refused`` and a note) and the merchant is told by an Administration notification and in
the audit trail the console shows. The notification goes through the shop outbox (``ShopUpdate``, one key per
order): Shopware's notification endpoint creates a new notification on every call, so it is queued once, in the
review's transaction, and retried by the outbox alone. A reported order (its notification queued) is not reported
twice. Runs in the worker, never in a request.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.extensions import db
from backend.handovers.models import ShopUpdate, ShopUpdateKind
from backend.handovers.shop_updates import queue_shop_update
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.merchants.policy_store import get_policy
from backend.risk.identity import keyed_hash, normalise_address
from backend.risk.inputs import Address as RiskAddress
from backend.risk.models import RiskCheck
from backend.risk.schemas import RiskCheckRequestSchema
from backend.risk.services import run_risk_check
from backend.shopware.gateway import shop_amount
from backend.shopware.manifest import ORDER_PLACED_EVENT, PAYMENT_METHOD_CHANGED_EVENT
from backend.shopware.models import ShopwareGatewayDecision
from connectors.shops.base import INVOICE_REFUSED_FIELD, ShopConnector, ShopOrder

logger = logging.getLogger(__name__)

AFTER_ORDER_EVENTS = frozenset({ORDER_PLACED_EVENT, PAYMENT_METHOD_CHANGED_EVENT})

NOTIFICATION = (
    "ClaimBridge: Bestellung {number} ist auf Rechnung gestellt, aber die Risikoprüfung erlaubt diesem Käufer "
    "keinen Rechnungskauf. Bitte vor dem Versand eine andere Zahlung erbitten. / Order {number} is set to "
    "invoice, but the risk check does not allow invoice for this buyer; ask for another payment before shipping."
)
NOTE = (
    "Rechnungskauf für diesen Käufer nicht freigegeben ({why}). / Invoice not allowed for this buyer ({why})."
)
WHY = {
    ORDER_PLACED_EVENT: "Rechnungsadresse der Bestellung / the order's billing address",
    PAYMENT_METHOD_CHANGED_EVENT: "nach der Bestellung gewechselt / switched after ordering",
}


def review_order(connection_id: int, order_id: str, *, reason: str) -> str:
    """Check a placed or switched order again and report a refused invoice; return what happened."""
    connection = db.session.get(ShopConnection, connection_id)
    if connection is None or connection.status != "active":
        return "inactive"
    connector = connector_for(connection)
    try:
        order = connector.get_order(order_id)
        outcome = _review(connection, connector, order, reason)
    finally:
        connector.close()
    logger.info("shopware connection %s: order %s after %s: %s", connection_id, order_id, reason, outcome)
    return outcome


def _review(connection: ShopConnection, connector: ShopConnector, order: ShopOrder, reason: str) -> str:
    policy = get_policy(connection.merchant_id)
    method = order.payment_method
    if method not in policy.invoice_methods:
        return "not_invoice"
    if _notice_queued(connection.id, order.external_id):
        return "already_reported"
    decision = _gateway_decision(connection.id, order.external_id)
    checked = db.session.get(RiskCheck, decision.risk_check_id) if decision is not None else None
    if decision is not None and method in decision.hidden:
        refused = True
    elif reason == ORDER_PLACED_EVENT and checked is not None and checked.address_key == _billing_key(order):
        # The gateway checked exactly this billing address with invoice on offer.
        return "checked_at_checkout"
    else:
        check = run_risk_check(connection.merchant_id, _risk_check_request(order, checked))
        refused = method in check.hidden_methods
    if not refused:
        return "allowed"
    _report(connection, connector, order, reason)
    return "reported"


def _gateway_decision(connection_id: int, order_id: str) -> ShopwareGatewayDecision | None:
    return db.session.scalar(
        sa.select(ShopwareGatewayDecision)
        .where(
            ShopwareGatewayDecision.connection_id == connection_id,
            ShopwareGatewayDecision.order_id == order_id,
        )
        .order_by(ShopwareGatewayDecision.created_at.desc(), ShopwareGatewayDecision.id.desc())
        .limit(1)
    )


def _billing_key(order: ShopOrder) -> str | None:
    """Return the billing address key the risk check stores (keyed hash of the normalised address)."""
    address = RiskAddress.from_payload(_without_none(asdict(order.billing_address)))
    return (
        keyed_hash(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"], "address", normalise_address(address))
        or None
    )


def _risk_check_request(order: ShopOrder, checked: RiskCheck | None) -> dict[str, Any]:
    """Return the validated risk check of the order as placed, with its payment method chosen."""
    buyer = _without_none(
        {
            "email": order.buyer.email,
            "phone": order.buyer.phone,
            "first_name": order.buyer.first_name,
            "last_name": order.buyer.last_name,
            "company": order.buyer.company,
            "customer_id": order.buyer.customer_id,
            "is_guest": order.buyer.is_guest,
        }
    )
    request = {
        # The checkout's own reference, so velocity counts this checkout once.
        "reference": (checked.reference if checked is not None else None) or f"shopware-order:{order.number}",
        # In cents as at checkout (the risk check takes no more places); None, refused, for no amount at all.
        "amount": None if (amount := shop_amount(order.total)) is None else format(amount, "f"),
        "currency": order.currency.upper(),
        "payment_methods": [order.payment_method],
        "selected_payment_method": order.payment_method,
        "buyer": buyer,
        "billing_address": _without_none(asdict(order.billing_address)),
        "shipping_address": _without_none(asdict(order.shipping_address)) if order.shipping_address else None,
    }
    return RiskCheckRequestSchema().load(request)


def _notice_key(connection_id: int, order_id: str) -> str:
    return f"invoice_refused:{connection_id}:{order_id}"


def _notice_queued(connection_id: int, order_id: str) -> bool:
    """Tell whether the order was reported: its notification is in the shop outbox (sent or not)."""
    key = _notice_key(connection_id, order_id)
    return db.session.scalar(sa.select(ShopUpdate.id).where(ShopUpdate.idempotency_key == key)) is not None


def _report(connection: ShopConnection, connector: ShopConnector, order: ShopOrder, reason: str) -> None:
    """Note why, mark the order and queue the merchant's notification; a failed review rolls all back.

    The note and the mark are idempotent writes (a retry after a lost answer changes nothing); the notification
    is not, so it is queued, not sent. The outbox row, not the shop's mark, tells a later review the order was
    reported: a mark whose answer was lost leaves no row, and the retried review reports it after all.
    """
    connector.add_order_note(order.external_id, NOTE.format(why=WHY.get(reason, reason)))
    connector.write_case_fields(order.external_id, {INVOICE_REFUSED_FIELD: True})
    queue_shop_update(
        merchant_id=connection.merchant_id,
        connection_id=connection.id,
        external_order_id=order.external_id,
        kind=ShopUpdateKind.ADMIN_NOTICE,
        key=_notice_key(connection.id, order.external_id),
        payload={"text": NOTIFICATION.format(number=order.number)},
    )
    record_event(
        "shopware.invoice_refused_after_order",
        actor=f"shopware:{connection.shop_id}",
        merchant_id=connection.merchant_id,
        target_type="shop_connection",
        target_id=connection.id,
        details={"order_id": order.external_id, "order_number": order.number, "event": reason},
    )


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
