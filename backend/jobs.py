"""Imports each area's periodic jobs so the worker knows them."""

from datetime import timedelta

from backend.auth.services import purge_expired_tokens
from backend.console.sessions import prune_console_links
from backend.dunning.services import (
    queue_due_notices,
    send_queued_notices,
    send_shop_reminders,
    sync_base_rates_when_missing,
)
from backend.handovers.services import (
    job_interval,
    poll_submitted_handovers,
    process_shop_updates,
    propose_handovers,
    submission_lease,
    submit_approved_handovers,
)
from backend.orders.services import (
    process_order_sync_requests,
    reconcile_all_connections,
    reconcile_interval,
    request_order_sync,
)
from backend.shopware.manifest import ORDER_EVENTS
from backend.shopware.services import ORDER_EVENT_HANDLERS, dispatch_order_events, prune_shopware_records
from backend.woocommerce.connect import complete_received_sessions
from backend.worker import periodic_job

HANDOVER_EVERY = job_interval()
HANDOVER_JOB_LEASE = min(submission_lease(), timedelta(minutes=1))

periodic_job("purge-expired-tokens", every=timedelta(hours=1))(purge_expired_tokens)
periodic_job("console-prune-links", every=timedelta(hours=6))(prune_console_links)
ORDER_EVENT_HANDLERS.update(dict.fromkeys(ORDER_EVENTS, request_order_sync))
periodic_job("orders-sync", every=timedelta(seconds=30))(process_order_sync_requests)
periodic_job("orders-reconcile", every=reconcile_interval())(reconcile_all_connections)
periodic_job("shopware-dispatch-events", every=timedelta(seconds=30))(dispatch_order_events)
periodic_job("shopware-prune", every=timedelta(hours=6))(prune_shopware_records)
periodic_job("dunning-evaluate", every=timedelta(minutes=15))(queue_due_notices)
periodic_job("dunning-send", every=timedelta(minutes=1))(send_queued_notices)
periodic_job("dunning-shop-reminders", every=timedelta(minutes=1))(send_shop_reminders)
periodic_job("base-rates-sync", every=timedelta(days=7))(sync_base_rates_when_missing)
# Each handover carries its own lease, so a short job lease lets another worker carry on at once when one dies.
periodic_job("handovers-propose", every=timedelta(minutes=15))(propose_handovers)
periodic_job("handovers-submit", every=HANDOVER_EVERY, lease=HANDOVER_JOB_LEASE)(submit_approved_handovers)
periodic_job("handovers-poll", every=HANDOVER_EVERY, lease=HANDOVER_JOB_LEASE)(poll_submitted_handovers)
periodic_job("handovers-shop-updates", every=HANDOVER_EVERY, lease=HANDOVER_JOB_LEASE)(process_shop_updates)
periodic_job("woocommerce-connect-sessions", every=timedelta(minutes=1))(complete_received_sessions)
