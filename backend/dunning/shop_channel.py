"""The shop channel: notices the merchant's shop delivers itself (``ShopAction`` rows), through its connector."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from backend.dates import berlin_today
from backend.dunning.models import DunningNotice, NoticeStatus, ShopAction, ShopActionStatus
from backend.dunning.notice_building import NoticeNotSendable, plugin_notice_payload
from backend.dunning.sending import SEND_LEASE, cancel_notice, mark_sent
from backend.dunning.stops import dunning_blocker
from backend.extensions import db, utcnow
from backend.merchants.connectors import INACTIVE_CONNECTION, connector_for, inactive_connection_ids
from backend.merchants.models import Merchant
from backend.outbox import lease_due, park_where, record_failure
from backend.receivables.models import Receivable
from connectors.errors import ConflictError, ConnectorError, NotFoundError
from connectors.shops.woocommerce import WooCommerceConnector

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopDelivery:
    """What the shop said about a notice it sent itself (absent for a bare payment-state transition)."""

    message_id: str | None
    language: str | None


ShopPerformer = Callable[[ShopAction, Receivable], ShopDelivery | None]


def process_shop_actions(perform: ShopPerformer, today: date | None = None, *, limit: int = 50) -> str:
    """Hand queued shop actions to ``perform`` (which calls the shop) and record the outcome.

    ``perform(action, receivable)`` returns when the shop did it and raises ``ConnectorError`` otherwise, or
    ``NoticeNotSendable``. Failures retry with the shop outbox policy (``backend.outbox.record_failure``): the
    action is parked, and its notice marked failed, after too many tries, at once when waiting cannot help
    (the shop refused for good, the merchant must act) and when its connection is no longer active. A
    notice whose receivable was paid, disputed or stopped meanwhile is cancelled instead of performed. A
    notice counts as sent only when ``perform`` returned. Commits per action.
    """
    today = today or berlin_today()
    outcomes: Counter[str] = Counter()
    waiting = (ShopActionStatus.PENDING.value, ShopActionStatus.RUNNING.value)
    parked = park_where(
        ShopAction,
        ShopAction.status.in_(waiting),
        ShopAction.connection_id.in_(inactive_connection_ids()),
        reason=INACTIVE_CONNECTION,
        now=utcnow(),
    )
    for action_id in parked:
        _park(db.session.get(ShopAction, action_id))
    db.session.commit()
    outcomes["parked"] += len(parked)
    for _ in range(limit):
        leased = lease_due(
            ShopAction,
            ShopAction.status.in_(waiting),
            ShopAction.parked_at.is_(None),
            ShopAction.next_attempt_at <= utcnow(),
            now=utcnow(),
            lease=SEND_LEASE,
            limit=1,
            order_by=(ShopAction.next_attempt_at, ShopAction.id),
            values={"status": ShopActionStatus.RUNNING.value},
        )
        if not leased:
            break
        action = db.session.get(ShopAction, leased[0])
        receivable = db.session.get(Receivable, action.receivable_id)
        notice = db.session.get(DunningNotice, action.notice_id) if action.notice_id else None
        blocker = dunning_blocker(receivable)
        if blocker is not None:
            if notice is not None:
                cancel_notice(notice, blocker)
            action.status = ShopActionStatus.CANCELLED.value
            db.session.commit()
            outcomes["cancelled"] += 1
            continue
        db.session.commit()
        try:
            delivery = perform(action, receivable)
        except (ConnectorError, NoticeNotSendable) as error:
            db.session.rollback()
            action = db.session.get(ShopAction, leased[0])
            permanent = isinstance(error, NoticeNotSendable | ShopRefusedNotice) and error.permanent
            outcome = record_failure(
                action, f"{type(error).__name__}: {error}", utcnow(), permanent=permanent
            )
            if outcome == "parked":
                _park(action)
            else:
                action.status = ShopActionStatus.PENDING.value
            logger.info("%r: attempt %s failed (%s): %s", action, action.attempts, outcome, action.last_error)
            db.session.commit()
            outcomes[outcome] += 1
            continue
        action = db.session.get(ShopAction, leased[0])
        action.status = ShopActionStatus.DONE.value
        action.done_at = utcnow()
        action.last_error = None
        if action.notice_id:
            mark_sent(
                db.session.get(DunningNotice, action.notice_id),
                today,
                message_id=(delivery.message_id if delivery else None) or f"shop-action-{action.id}",
                language=delivery.language if delivery else None,
            )
        db.session.commit()
        outcomes["done"] += 1
    return (
        ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()) if count)
        or "nothing to do"
    )


def _park(action: ShopAction) -> None:
    """Mark a parked action failed, and its notice with it (a retry of the action queues both again)."""
    action.status = ShopActionStatus.FAILED.value
    if action.notice_id:
        notice = db.session.get(DunningNotice, action.notice_id)
        if notice.status in (NoticeStatus.QUEUED.value, NoticeStatus.SENDING.value):
            notice.status = NoticeStatus.FAILED.value
            notice.last_error = action.last_error


class ShopRefusedNotice(ConnectorError):
    """The shop's plugin answered but will not send the notice (its e-mail is disabled, or no plugin)."""

    permanent = True


def remind_in_shop(action: ShopAction, receivable: Receivable) -> ShopDelivery | None:
    """Have the shop deliver the notice: WooCommerce mails it through the ClaimBridge plugin, Shopware runs
    its ``remind`` payment transition."""
    connector = connector_for(receivable.connection)
    try:
        if isinstance(connector, WooCommerceConnector) and action.notice_id is not None:
            return _send_through_plugin(connector, action, receivable)
        connector.mark_reminded(receivable.external_id)
        return None
    finally:
        connector.close()


def _send_through_plugin(
    connector: WooCommerceConnector, action: ShopAction, receivable: Receivable
) -> ShopDelivery:
    """Send the whole notice to the plugin's ``dunning-notices`` route; only its 2xx means sent."""
    notice = db.session.get(DunningNotice, action.notice_id)
    merchant = db.session.get(Merchant, receivable.merchant_id)
    payload = plugin_notice_payload(notice, receivable, merchant, berlin_today())
    db.session.commit()  # no transaction stays open while the shop mails
    try:
        answer = connector.send_dunning_notice(payload)
    except ConflictError as error:
        if error.remote_code == "claimbridge_email_disabled":
            raise ShopRefusedNotice(
                "the merchant disabled the ClaimBridge dunning e-mail in WooCommerce", status=409
            ) from error
        raise
    except NotFoundError as error:
        if error.remote_code == "rest_no_route":
            raise ShopRefusedNotice(
                "the shop has no ClaimBridge plugin to send notices", status=404
            ) from error
        raise
    return ShopDelivery(message_id=str(answer.get("message_id") or "") or None, language=payload["language"])


def send_shop_reminders(today: date | None = None) -> str:
    """Run the queued shop-channel notices through the merchants' shops."""
    return process_shop_actions(remind_in_shop, today)
