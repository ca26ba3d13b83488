"""The legal claim of a receivable: its sent notices and ledger bookings, limitation, the claim on a day.

Payments and credits for claims come from the receivable's ledger (``backend.receivables.ledger.payment_bookings``):
each booking carries its value date and source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa

from backend.dunning import claims, law
from backend.dunning.base_rates import UnknownBaseRate
from backend.dunning.claims import (
    SUPPORTED_CURRENCY,
    Claim,
    ClaimBreakdown,
    DebtorKind,
    NoticeKind,
)
from backend.dunning.errors import MissingBaseRateError, UnsupportedClaimError
from backend.dunning.merchant_settings import merchant_land
from backend.dunning.models import DunningNotice, NoticeStatus
from backend.dunning.rate_store import base_rate_table
from backend.extensions import db, one_of
from backend.receivables.bookings import Booking, BookingKind
from backend.receivables.ledger import payment_bookings
from backend.receivables.models import Receivable


def sent_notices(receivable_id: int) -> list[DunningNotice]:
    """Return the notices that went out (or were recorded), oldest first."""
    return list(
        db.session.scalars(
            sa.select(DunningNotice)
            .filter_by(receivable_id=receivable_id, status=NoticeStatus.SENT.value)
            .order_by(DunningNotice.sent_on, DunningNotice.level)
        )
    )


def notices_of(receivable_id: int) -> list[DunningNotice]:
    """Return every notice of a receivable (any status), in the order they were decided."""
    return list(
        db.session.scalars(
            sa.select(DunningNotice).filter_by(receivable_id=receivable_id).order_by(DunningNotice.id)
        )
    )


def claim_notices_of(receivable_ids: Sequence[int]) -> dict[int, list[claims.DunningNotice]]:
    """Return the notices of many receivables that went out, as their claims count them (one statement)."""
    notices: dict[int, list[claims.DunningNotice]] = {receivable_id: [] for receivable_id in receivable_ids}
    if notices:
        rows = db.session.execute(
            sa.select(
                DunningNotice.receivable_id,
                DunningNotice.kind,
                DunningNotice.sent_on,
                DunningNotice.fee,
                DunningNotice.deadline_on,
                DunningNotice.channel,
            )
            .where(
                one_of(DunningNotice.receivable_id, list(notices)),
                DunningNotice.status == NoticeStatus.SENT.value,
                DunningNotice.sent_on.is_not(None),
            )
            .order_by(DunningNotice.receivable_id, DunningNotice.sent_on, DunningNotice.level)
        )
        for receivable_id, kind, sent_on, fee, deadline_on, channel in rows:
            notices[receivable_id].append(
                claims.DunningNotice(
                    NoticeKind(kind), sent_on, fee, deadline_on=deadline_on, channel=claims.Channel(channel)
                )
            )
    return notices


def claim_of(
    receivable: Receivable,
    extra_notices: Iterable[claims.DunningNotice] = (),
    *,
    bookings: list[Booking] | None = None,
    sent: list[claims.DunningNotice] | None = None,
) -> Claim:
    """Build the legal claim of a receivable from its amounts, sent notices and payment history.

    ``bookings`` are the receivable's ``payment_bookings`` and ``sent`` its ``claim_notices_of`` when the caller
    has already read them.
    """
    if receivable.currency != SUPPORTED_CURRENCY:
        raise UnsupportedClaimError(
            f"only {SUPPORTED_CURRENCY} claims can be computed, not {receivable.currency}"
        )
    if receivable.total_amount <= 0:
        raise UnsupportedClaimError("the receivable has no positive invoice total")
    if sent is None:
        sent = claim_notices_of([receivable.id])[receivable.id]
    return Claim(
        principal=receivable.total_amount,
        invoice_date=receivable.invoice_date,
        due_date=receivable.due_date,
        debtor_kind=DebtorKind(receivable.debtor_kind),
        invoice_has_default_notice=receivable.invoice_has_default_notice,
        notices=[*sent, *extra_notices],
        bookings=payment_bookings(receivable) if bookings is None else bookings,
        land=merchant_land(receivable.merchant_id),
    )


def limitation_date_of(receivable: Receivable, bookings: list[Booking] | None = None) -> date:
    """Return the last day the receivable is not time-barred: from its due date, restarted by payments."""
    bookings = payment_bookings(receivable) if bookings is None else bookings
    payments = [b.booked_on for b in bookings if b.kind is BookingKind.PAYMENT]
    return law.limitation_date(receivable.due_date, payments, merchant_land(receivable.merchant_id))


def limitation_floor(today: date) -> date:
    """Return the earliest due date that can still be enforceable on ``today`` without a restart.

    The SQL selections use it as a coarse filter; a claim kept alive only by a payment (§212) is left to
    the merchant rather than dunned automatically, which claims less, never more.
    """
    return date(today.year - law.LIMITATION_YEARS, 1, 1)


def claim_on(receivable: Receivable, as_of: date) -> ClaimBreakdown:
    """Return the claim on ``as_of``; a missing base rate is a 409 naming the half-year."""
    claim = claim_of(receivable)
    try:
        return claims.claim_breakdown(claim, as_of, base_rate_table())
    except UnknownBaseRate as error:
        raise MissingBaseRateError(error) from None
