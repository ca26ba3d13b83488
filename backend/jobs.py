"""The worker's periodic jobs: the one place a duty of any area is scheduled, with its interval."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from backend.auth.services import purge_expired_tokens
from backend.console.sessions import prune_console_links
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.rate_store import sync_base_rates_when_missing
from backend.dunning.sending import send_queued_notices
from backend.dunning.shop_channel import send_shop_reminders
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.proposals import propose_handovers
from backend.handovers.shop_updates import process_shop_updates
from backend.handovers.submission import submit_approved_handovers
from backend.orders.services import process_order_sync_requests, reconcile_all_connections
from backend.payments.retention import apply_payment_retention
from backend.risk.services import purge_raw_inputs
from backend.shopware.services import dispatch_order_events, prune_shopware_records
from backend.woocommerce.connect import complete_received_sessions
from backend.woocommerce.services import reconcile_shops
from backend.worker import Job


def periodic_jobs(config: Mapping[str, Any]) -> dict[str, Job]:
    """Return every periodic job by name, with the intervals the configuration sets."""
    handover_every = config["CLAIMBRIDGE_HANDOVER_JOB_INTERVAL"]
    # Each handover carries its own lease, so a short job lease lets another worker carry on at once when one dies.
    handover_lease = min(config["CLAIMBRIDGE_HANDOVER_LEASE"], timedelta(minutes=1))
    jobs = (
        Job("purge-expired-tokens", timedelta(hours=1), purge_expired_tokens),
        Job("console-prune-links", timedelta(hours=6), prune_console_links),
        Job("risk-purge-raw-inputs", timedelta(hours=1), purge_raw_inputs),
        Job("orders-sync", timedelta(seconds=30), process_order_sync_requests),
        Job("orders-reconcile", config["CLAIMBRIDGE_RECONCILE_INTERVAL"], reconcile_all_connections),
        Job("shopware-dispatch-events", timedelta(seconds=30), dispatch_order_events),
        Job("shopware-prune", timedelta(hours=6), prune_shopware_records),
        Job("dunning-evaluate", timedelta(minutes=15), queue_due_notices),
        Job("dunning-send", timedelta(minutes=1), send_queued_notices),
        Job("dunning-shop-reminders", timedelta(minutes=1), send_shop_reminders),
        Job("base-rates-sync", timedelta(days=7), sync_base_rates_when_missing),
        Job("handovers-propose", timedelta(minutes=15), propose_handovers),
        Job("handovers-submit", handover_every, submit_approved_handovers, lease=handover_lease),
        Job("handovers-poll", handover_every, poll_submitted_handovers, lease=handover_lease),
        Job("handovers-shop-updates", handover_every, process_shop_updates, lease=handover_lease),
        Job("payments-retention", timedelta(days=1), apply_payment_retention),
        Job("woocommerce-connect-sessions", timedelta(minutes=1), complete_received_sessions),
        Job("woocommerce-reconcile-shops", config["CLAIMBRIDGE_RECONCILE_INTERVAL"], reconcile_shops),
    )
    return {job.name: job for job in jobs}
