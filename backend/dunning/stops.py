"""Dunning stops on a buyer, and whether a receivable may be dunned now (the Python twin of the SQL filter)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.dates import berlin_today
from backend.dunning.claims import SUPPORTED_CURRENCY
from backend.dunning.models import DunningBuyerStop
from backend.dunning.receivable_claims import limitation_date_of
from backend.errors import UserValueError
from backend.extensions import db, one_of
from backend.receivables.bookings import Booking
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING
from backend.risk.identity import keyed_hash, normalise_email


def email_key_for(email: str) -> str:
    """Return the keyed hash receivables carry for a buyer's e-mail address."""
    key = keyed_hash(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"], "email", normalise_email(email))
    if not key:
        raise UserValueError("The e-mail address is empty.", details={"/email": ["must not be empty"]})
    return key


def set_buyer_stop(merchant_id: int, email: str, *, stopped: bool, reason: str, actor: str) -> dict[str, Any]:
    """Stop (or resume) dunning every receivable of the buyer with ``email``; return the outcome."""
    email_key = email_key_for(email)
    existing = db.session.scalar(
        sa.select(DunningBuyerStop).filter_by(merchant_id=merchant_id, email_key=email_key)
    )
    if stopped and existing is None:
        db.session.add(
            DunningBuyerStop(merchant_id=merchant_id, email_key=email_key, reason=reason, created_by=actor)
        )
    elif stopped and existing is not None:
        existing.reason = reason
    elif existing is not None:
        db.session.delete(existing)
    receivables = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Receivable)
        .filter_by(merchant_id=merchant_id, email_key=email_key)
    )
    record_event(
        "dunning.buyer_stopped" if stopped else "dunning.buyer_resumed",
        actor=actor,
        merchant_id=merchant_id,
        target_type="buyer",
        target_id=email_key[:16],
        details={"reason": reason, "receivables": receivables},
    )
    return {"stopped": stopped, "reason": reason if stopped else None, "receivables": receivables}


def buyer_stopped(receivable: Receivable) -> bool:
    """Say whether the receivable's buyer is under a dunning stop."""
    return receivable.id in stopped_buyers_of([receivable])


def stopped_buyers_of(receivables: Sequence[Receivable]) -> set[int]:
    """Return the ids of those ``receivables`` whose buyer is under a dunning stop (one statement)."""
    keyed = [receivable for receivable in receivables if receivable.email_key is not None]
    if not keyed:
        return set()
    stops = {
        (merchant_id, email_key)
        for merchant_id, email_key in db.session.execute(
            sa.select(DunningBuyerStop.merchant_id, DunningBuyerStop.email_key).where(
                one_of(DunningBuyerStop.email_key, sorted({receivable.email_key for receivable in keyed})),
                DunningBuyerStop.merchant_id.in_(sorted({receivable.merchant_id for receivable in keyed})),
            )
        )
    }
    return {receivable.id for receivable in keyed if (receivable.merchant_id, receivable.email_key) in stops}


def dunning_blocker(
    receivable: Receivable, *, bookings: list[Booking] | None = None, buyer_is_stopped: bool | None = None
) -> str | None:
    """Return why the receivable must not be dunned now, or None (the Python twin of the SQL filter).

    ``bookings`` are the receivable's ``payment_bookings`` and ``buyer_is_stopped`` its ``buyer_stopped`` when
    the caller has already read them.
    """
    if receivable.state not in OUTSTANDING:
        return f"receivable is {receivable.state}"
    if receivable.disputed_at is not None:
        return "receivable is disputed"
    if receivable.dunning_stopped_at is not None:
        return "dunning is stopped for this order"
    if receivable.currency != SUPPORTED_CURRENCY:
        return f"only {SUPPORTED_CURRENCY} claims are dunned"
    if receivable.balance <= 0:
        return "nothing is owed"
    if buyer_stopped(receivable) if buyer_is_stopped is None else buyer_is_stopped:
        return "dunning is stopped for this buyer"
    barred_after = limitation_date_of(receivable, bookings)
    if berlin_today() > barred_after:
        return f"the claim is time-barred since {barred_after + timedelta(days=1)} (§§195, 199 BGB)"
    return None
