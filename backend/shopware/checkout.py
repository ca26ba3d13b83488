"""The checkout gateway's decision: which payment methods a Shopware shop must remove for this checkout.

The shop gives our answer 5 s (1 s to connect) and on a timeout, an error status or a bad signature it logs
the failure and shows every method: it fails open. So everything here is built to always produce an answer
that we can sign, quickly:

- Bare ``countryId``s are resolved through the shop's Admin API under a hard time budget (a worker thread
  with ``COUNTRY_LOOKUP_BUDGET``; short connector timeouts, no retries) and cached per shop in this process
  (``COUNTRY_CACHE_TTL``; a failed lookup pauses lookups of that shop for ``ADMIN_API_PAUSE``).
- The credit bureau has its own budget (``CLAIMBRIDGE_BUREAU_TIMEOUT``) inside ``run_risk_check``, where a
  slow bureau is decided by the merchant's policy.
- When no check can be run (an address without a resolvable country, a cart the risk API refuses, a database
  or programming error) the answer follows the policy's fail mode exactly as a failed bureau would:
  ``hide_invoice`` hides every invoice-like method, ``allow_up_to`` hides them above
  ``bureau_fail_max_amount``. Such answers are not cached: the next call of the checkout tries again.

Decisions are cached in ``shopware_gateway_decisions`` under ``gateway.decision_cache_key``, which covers the
shop, cart token, customer and every input of the check: the cart page, confirm page and order placement of
one checkout cost one risk check, and a changed address or amount is checked anew. A row lives as long as
its risk check is valid (``expires_at`` of the RiskCheck).

The risk check id reaches the order by the placed-order webhook: ``link_placed_order`` marks the decision
the order was placed with, and the webhook dispatcher writes ``claimbridge_risk_check_id`` into the order's
custom fields through the Admin API before the order is synchronised (see ``services.dispatch_order_events``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError

from backend.extensions import PreparedStatement, db, dialect_insert, utcnow
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.merchants.policy import RiskPolicy
from backend.merchants.policy_store import get_policy
from backend.risk.engine import bureau_failure_allows_invoice
from backend.risk.schemas import RiskCheckRequestSchema
from backend.risk.services import run_risk_check
from backend.shopware.gateway import (
    GatewayCheckout,
    decision_cache_key,
    map_checkout,
    shop_amount,
)
from backend.shopware.models import ShopwareGatewayDecision
from connectors.shops.base import ShopConnector

logger = logging.getLogger(__name__)

# The whole country lookup (token and search) must leave the bureau its 1.5 s inside the shop's 5 s.
COUNTRY_LOOKUP_BUDGET = 1.0
ADMIN_API_TIMEOUT = (0.5, 1.0)
COUNTRY_CACHE_TTL = 24 * 3600.0
ADMIN_API_PAUSE = 60.0
BUYER_DEFAULT_LANGUAGE = "de"

# One schema instance serves every call (loading keeps no state on it); building one cost 0.1 ms a call.
_RISK_CHECK_REQUEST = RiskCheckRequestSchema()

# Decisions stay a week after expiry: the placed-order webhook may be retried and dispatched late.
GATEWAY_DECISION_RETENTION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class GatewayShop:
    """The registered shop a gateway call comes from, as the decision needs it."""

    connection_id: int
    merchant_id: int


@dataclass(frozen=True)
class GatewayDecision:
    """What to hide for one gateway call, and how it was decided (for logs and tests)."""

    hidden: tuple[str, ...]
    offered: tuple[str, ...]
    outcome: str  # checked, cached, no_customer, no_invoice_offered or fail_mode
    risk_check_id: str | None = None


# Countries -------------------------------------------------------------------------------------------------------


class CountryCache:
    """ISO codes of Shopware country ids per connection, kept in this process; thread-safe."""

    def __init__(self, ttl: float = COUNTRY_CACHE_TTL, pause: float = ADMIN_API_PAUSE) -> None:
        self.ttl = ttl
        self.pause = pause
        self._lock = threading.Lock()
        self._isos: dict[tuple[int, str], tuple[float, str]] = {}
        self._paused_until: dict[int, float] = {}

    def get(self, connection_id: int, country_id: str) -> str | None:
        """Return a cached ISO code, or None when unknown or stale."""
        with self._lock:
            entry = self._isos.get((connection_id, country_id))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, connection_id: int, isos: Mapping[str, str]) -> None:
        """Remember ISO codes looked up for a connection."""
        now = time.monotonic()
        with self._lock:
            self._isos.update({(connection_id, cid): (now, iso) for cid, iso in isos.items()})

    def is_paused(self, connection_id: int) -> bool:
        """Tell whether lookups of this connection failed a moment ago and should not be tried yet."""
        with self._lock:
            return time.monotonic() < self._paused_until.get(connection_id, 0.0)

    def pause_lookups(self, connection_id: int) -> None:
        """Stop trying this connection's Admin API for a while (it was slow or unreachable)."""
        with self._lock:
            self._paused_until[connection_id] = time.monotonic() + self.pause

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._isos.clear()
            self._paused_until.clear()


country_cache = CountryCache()
# Lookups run here so a hanging Admin API costs the request COUNTRY_LOOKUP_BUDGET, not the connector's timeouts.
_lookup_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shopware-country")


def _lookup_isos(connector: ShopConnector, country_ids: Iterable[str]) -> dict[str, str]:
    try:
        return {cid: iso for cid in country_ids if (iso := connector.country_iso(cid))}
    finally:
        connector.close()


def resolve_countries(shop: GatewayShop, country_ids: Iterable[str]) -> dict[str, str]:
    """Return ISO codes for the country ids, from the cache or the shop's Admin API within the budget."""
    connection_id = shop.connection_id
    wanted = set(country_ids)
    found = {cid: iso for cid in wanted if (iso := country_cache.get(connection_id, cid))}
    missing = sorted(wanted - set(found))
    if not missing or country_cache.is_paused(connection_id):
        return found
    try:
        connection = db.session.get_one(ShopConnection, connection_id)
        connector = connector_for(connection, timeout=ADMIN_API_TIMEOUT, max_retries=0)
        looked_up = _lookup_pool.submit(_lookup_isos, connector, missing).result(
            timeout=COUNTRY_LOOKUP_BUDGET
        )
    except FutureTimeoutError:
        logger.warning("shopware connection %s: country lookup exceeded its budget", connection_id)
        country_cache.pause_lookups(connection_id)
        return found
    # The Admin API may fail in any way (credentials revoked, shop down, odd answers); the check goes on.
    except Exception as error:
        logger.warning(
            "shopware connection %s: country lookup failed (%s)", connection_id, type(error).__name__
        )
        country_cache.pause_lookups(connection_id)
        return found
    country_cache.put(connection_id, looked_up)
    return found | looked_up


# The decision ----------------------------------------------------------------------------------------------------


def read_checkout(shop: GatewayShop, payload: Mapping[str, Any]) -> GatewayCheckout:
    """Map a verified gateway payload to a risk check, resolving bare country ids of the buyer's addresses.

    Mapped once when the payload names every country it uses (as shops mostly send it), else again with the
    countries resolved.
    """
    checkout = map_checkout(payload)
    if not checkout.unresolved_country_ids:
        return checkout
    isos = resolve_countries(shop, checkout.unresolved_country_ids)
    return map_checkout(payload, resolve_country=isos.get)


def invoice_methods_on_offer(checkout: GatewayCheckout, policy: RiskPolicy) -> tuple[str, ...]:
    """Return the offered technical names the merchant's policy counts as invoice-like."""
    return tuple(name for name in checkout.offered_payment_methods if name in policy.invoice_methods)


def decide_checkout(shop: GatewayShop, checkout: GatewayCheckout) -> GatewayDecision:
    """Return what to hide for this checkout: a cached decision, a fresh risk check, or the fail mode."""
    merchant_id = shop.merchant_id
    offered = checkout.offered_payment_methods
    if checkout.customer_id is None:
        # Nothing to judge before login or guest registration; placement calls the gateway again.
        return GatewayDecision(hidden=(), offered=offered, outcome="no_customer")
    policy = get_policy(merchant_id)
    if not invoice_methods_on_offer(checkout, policy):
        return GatewayDecision(hidden=(), offered=offered, outcome="no_invoice_offered")
    if not checkout.is_checkable:
        logger.warning(
            "shopware connection %s: checkout lacks %s; answering by the fail mode",
            shop.connection_id,
            ", ".join(checkout.missing),
        )
        return fail_mode_decision(checkout, policy)
    digest = _key_digest(checkout)
    cached = _cached_decision(shop.connection_id, digest)
    if cached is not None:
        hidden, risk_check_id = cached
        return GatewayDecision(
            hidden=tuple(hidden), offered=offered, outcome="cached", risk_check_id=risk_check_id
        )
    try:
        payload = _RISK_CHECK_REQUEST.load(checkout.risk_check)
    except ValidationError as error:
        logger.warning(
            "shopware connection %s: checkout does not make a valid risk check (%s); answering by the fail mode",
            shop.connection_id,
            sorted(error.normalized_messages()),
        )
        return fail_mode_decision(checkout, policy)
    check = run_risk_check(merchant_id, payload)
    hidden = tuple(check.hidden_methods)
    _store_decision(shop, checkout, digest, check.id, hidden, check.expires_at)
    return GatewayDecision(hidden=hidden, offered=offered, outcome="checked", risk_check_id=check.id)


def fail_mode_decision(checkout: GatewayCheckout, policy: RiskPolicy) -> GatewayDecision:
    """Return the decision the merchant's fail mode gives when no risk check can be run for this checkout."""
    offered = checkout.offered_payment_methods
    if checkout.customer_id is None:
        return GatewayDecision(hidden=(), offered=offered, outcome="no_customer")
    amount = shop_amount(checkout.risk_check.get("amount"))
    if amount is not None and bureau_failure_allows_invoice(amount, policy):
        return GatewayDecision(hidden=(), offered=offered, outcome="fail_mode")
    return GatewayDecision(
        hidden=invoice_methods_on_offer(checkout, policy), offered=offered, outcome="fail_mode"
    )


def fallback_policy(merchant_id: int) -> RiskPolicy:
    """Return the merchant's policy, or the default one when even that cannot be read (database trouble)."""
    try:
        return get_policy(merchant_id)
    # Whatever broke the check may break this read too; the default policy still gives a fail mode.
    except Exception:
        logger.exception("risk policy of merchant %s unreadable; using the default fail mode", merchant_id)
        return RiskPolicy()


def buyer_language(payload: Mapping[str, Any], user_language: str | None) -> str:
    """Return "de" or "en" for the buyer's cart message.

    The storefront's locale comes as ``languageInfo.localeCode`` where the payload has it, else as the
    ``sw-user-language`` header the shop adds to every app request (the locale of the sales channel's
    language for a storefront context; 6.6 sends no languageInfo); German when neither names one.
    ``Accept-Language`` is the shop's HTTP client's, not the buyer's.
    """
    context = payload.get("salesChannelContext")
    info = context.get("languageInfo") if isinstance(context, dict) else None
    locale = info.get("localeCode") if isinstance(info, dict) else None
    if not (isinstance(locale, str) and locale.strip()):
        locale = user_language
    if not (isinstance(locale, str) and locale.strip()):
        return BUYER_DEFAULT_LANGUAGE
    primary = locale.strip().replace("_", "-").split("-", 1)[0].lower()
    # A storefront in neither language gets English: more buyers abroad read it than German.
    return "de" if primary == "de" else "en"


# Cache rows ------------------------------------------------------------------------------------------------------


def _key_digest(checkout: GatewayCheckout) -> str:
    return hashlib.sha256(decision_cache_key(checkout).encode()).hexdigest()


# The cache's read and write are compiled once and run as SQL text on the request's connection: through the ORM
# (an entity loaded, the session's execute) a gateway call spent 0.2 ms more CPU on each, and through
# ``Connection.execute`` (its cache key, its result) still 0.1-0.2 ms more than the statement itself.
_decisions = ShopwareGatewayDecision.__table__
_CACHED_DECISION = PreparedStatement(
    sa.select(_decisions.c.hidden, _decisions.c.risk_check_id).where(
        _decisions.c.key_digest == sa.bindparam("digest"),
        _decisions.c.connection_id == sa.bindparam("connection"),
        _decisions.c.expires_at > sa.bindparam("now"),
    )
)


def _cached_decision(connection_id: int, digest: str) -> tuple[list[str], str] | None:
    """Return the hidden methods and risk check id of a valid cached decision, or None."""
    rows = _CACHED_DECISION.rows(
        db.session.connection(), {"digest": digest, "connection": connection_id, "now": utcnow()}
    )
    return rows[0] if rows else None


def _store_decision(
    shop: GatewayShop,
    checkout: GatewayCheckout,
    digest: str,
    risk_check_id: str,
    hidden: tuple[str, ...],
    expires_at: datetime,
) -> None:
    now = utcnow()
    values = {
        "key_digest": digest,
        "connection_id": shop.connection_id,
        "risk_check_id": risk_check_id,
        "customer_id": checkout.customer_id,
        "amount": shop_amount(checkout.risk_check.get("amount")),
        "hidden": list(hidden),
        "order_id": None,
        "linked_at": None,
        "created_at": now,
        "expires_at": expires_at,
        "now": now,
    }
    connection = db.session.connection()
    if not _decision_upsert(connection.dialect.name).rows(connection, values):
        # A parallel call of the same checkout stored its decision a moment ago; both answers agree.
        logger.info("shopware connection %s: gateway decision stored concurrently", shop.connection_id)


@functools.cache
def _decision_upsert(dialect: str) -> PreparedStatement:
    """Return the insert of a gateway decision, built once per database.

    An expired row under the same key (the same checkout, half an hour later) is replaced; a valid one (a
    parallel call of the same checkout) is kept and nothing is returned.
    """
    insert = dialect_insert(_decisions, dialect)
    replaced = [column.name for column in _decisions.c if column.name != "id"]
    upsert = insert.on_conflict_do_update(
        index_elements=["key_digest"],
        set_={name: insert.excluded[name] for name in replaced},
        where=_decisions.c.expires_at <= sa.bindparam("now"),
    ).returning(_decisions.c.id)
    return PreparedStatement(upsert, column_keys=replaced)


# The customer's newest valid decision not yet linked to an order (of the order's amount: _LINK_FOR_AMOUNT).
_UNLINKED = (
    sa.select(_decisions.c.id)
    .where(
        _decisions.c.connection_id == sa.bindparam("connection"),
        _decisions.c.customer_id == sa.bindparam("customer"),
        _decisions.c.order_id.is_(None),
        _decisions.c.expires_at > sa.bindparam("now"),
    )
    .order_by(_decisions.c.created_at.desc(), _decisions.c.id.desc())
    .limit(1)
)


def _link(candidates: sa.Select) -> sa.Update:
    return (
        sa.update(_decisions)
        .where(_decisions.c.id == candidates.scalar_subquery(), _decisions.c.order_id.is_(None))
        .values(order_id=sa.bindparam("order"))
        .returning(_decisions.c.id)
    )


_LINK = PreparedStatement(_link(_UNLINKED))
_LINK_FOR_AMOUNT = PreparedStatement(
    _link(_UNLINKED.where(_decisions.c.amount == sa.bindparam("order_amount")))
)


def link_placed_order(connection_id: int, order_id: str, payload: Any) -> int | None:
    """Mark the gateway decision a just placed order was made with; return its id, or None when none matches.

    The order carries no cart token, so the match is the customer's newest valid decision for the order's
    amount (placement itself calls the gateway with the final cart). One UPDATE finds and marks it.
    """
    order = payload.get("order") if isinstance(payload, dict) else None
    if not isinstance(order, dict):
        return None
    order_customer = order.get("orderCustomer")
    customer_id = order_customer.get("customerId") if isinstance(order_customer, dict) else None
    if not isinstance(customer_id, str) or not customer_id:
        return None
    price = order.get("price")
    amount = shop_amount(
        order.get("amountTotal", price.get("totalPrice") if isinstance(price, dict) else None)
    )
    params = {"connection": connection_id, "customer": customer_id, "now": utcnow(), "order": order_id}
    connection = db.session.connection()
    if amount is None:
        linked = _LINK.rows(connection, params)
    else:
        linked = _LINK_FOR_AMOUNT.rows(connection, {**params, "order_amount": amount})
    return linked[0][0] if linked else None


def prune_gateway_decisions(now: datetime) -> int:
    """Delete decisions that expired longer than the retention period ago; return how many."""
    result = db.session.execute(
        sa.delete(ShopwareGatewayDecision).where(
            ShopwareGatewayDecision.expires_at < now - GATEWAY_DECISION_RETENTION
        )
    )
    return result.rowcount or 0
