"""Building a notice as of the day it goes out: language, amounts, payment details, e-mail and plugin payload."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.utils import formataddr, parseaddr
from typing import Any

from flask import current_app

from backend.dunning import claims, law
from backend.dunning.base_rates import BaseRateTable, UnknownBaseRate
from backend.dunning.claims import ClaimBreakdown, DebtorKind, NoticeKind
from backend.dunning.girocode import GiroCodeError, girocode, girocode_payload, girocode_png
from backend.dunning.merchant_settings import DunningSettings, get_dunning_settings, merchant_land
from backend.dunning.models import DunningNotice
from backend.dunning.notices import Language, PaymentDetails, RenderedNotice, notice_content, render_notice
from backend.dunning.rate_store import base_rate_table
from backend.dunning.receivable_claims import claim_of
from backend.merchants.models import Merchant
from backend.receivables.bookings import Booking
from backend.receivables.models import Receivable
from backend.receivables.payment_references import assign_payment_reference
from connectors.mail import FlatMessage, Mailer, SmtpMailer, compose, message_id_for

logger = logging.getLogger(__name__)


GERMAN_SPEAKING_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU"})


def payment_deadline(notice: DunningNotice, sent_on: date) -> date:
    """Return the payment deadline a notice sent on ``sent_on`` states (§193 BGB applied)."""
    day = sent_on + timedelta(days=notice.payment_deadline_days)
    return law.next_working_day(day, merchant_land(notice.merchant_id))


def recorded_notice_sha256(notice: DunningNotice) -> str:
    """Return the SHA-256 of what a notice without an e-mail of ours stated (kind, dates, fee, channel)."""
    record = {
        "notice": notice.id,
        "receivable": notice.receivable_id,
        "kind": notice.kind,
        "channel": notice.channel,
        "sent_on": notice.sent_on.isoformat() if notice.sent_on else None,
        "deadline_on": notice.deadline_on.isoformat() if notice.deadline_on else None,
        "fee": str(notice.fee),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def notice_language(receivable: Receivable, settings: DunningSettings) -> Language:
    """Return the notice language: the merchant's choice, or German for German-speaking countries."""
    if settings.notice_language in ("de", "en"):
        return settings.notice_language  # type: ignore[return-value]
    country = str((receivable.billing_address or {}).get("country") or "DE").upper()
    return "de" if country in GERMAN_SPEAKING_COUNTRIES else "en"


def debtor_name(receivable: Receivable) -> str:
    """Return the name to address the debtor by."""
    billing = receivable.billing_address or {}
    buyer = receivable.buyer or {}
    if receivable.debtor_kind == DebtorKind.BUSINESS and billing.get("company"):
        return str(billing["company"])
    for source in (billing, buyer):
        name = " ".join(str(source[key]) for key in ("first_name", "last_name") if source.get(key))
        if name:
            return name
    return str(buyer.get("company") or billing.get("company") or buyer.get("email") or receivable.number)


class NoticeNotSendable(Exception):
    """The notice cannot be sent as things stand; ``permanent`` says whether waiting can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class MailIdentity:
    """The address notices come from; its domain names every Message-ID."""

    address: str
    domain: str


def mail_identity(mailer: Mailer | None = None) -> MailIdentity | None:
    """Return the sender from ``CLAIMBRIDGE_MAIL_FROM`` (else the SMTP URL's ``from``), or None."""
    configured = current_app.config.get("CLAIMBRIDGE_MAIL_FROM")
    if not configured and isinstance(mailer, SmtpMailer):
        configured = mailer.sender
    address = parseaddr(configured or "")[1]
    if "@" not in address:
        return None
    return MailIdentity(address=address, domain=address.rpartition("@")[2])


@dataclass(frozen=True)
class PreparedNotice:
    """A notice rendered as of the day it is sent, with what every channel needs to deliver it."""

    rendered: RenderedNotice
    language: Language
    recipient: str
    breakdown: ClaimBreakdown
    reference: str
    deadline: date
    settings: DunningSettings
    inline_images: dict[str, bytes]


def prepare_notice(
    notice: DunningNotice,
    receivable: Receivable,
    merchant: Merchant,
    sent_on: date,
    *,
    image_domain: str | None = None,
    bookings: list[Booking] | None = None,
    sent: list[claims.DunningNotice] | None = None,
    rates: BaseRateTable | None = None,
) -> PreparedNotice:
    """Render a notice as of ``sent_on``; raise ``NoticeNotSendable`` when it cannot go.

    With ``image_domain`` (an e-mail's) the HTML embeds the GiroCode as an inline image named in that domain.
    A caller sending many notices passes the receivable's ``bookings``, its ``sent`` notices
    (``claim_notices_of``) and the base ``rates`` it already read.
    """
    recipient = (receivable.buyer or {}).get("email")
    if not recipient:
        raise NoticeNotSendable("the buyer has no e-mail address", permanent=True)
    settings = get_dunning_settings(merchant)
    if not settings.has_payment_details:
        raise NoticeNotSendable("the merchant has not set payment details for notices", permanent=False)
    this_notice = claims.DunningNotice(NoticeKind(notice.kind), sent_on, notice.fee)
    claim = claim_of(receivable, [this_notice], bookings=bookings, sent=sent)
    try:
        breakdown = claims.claim_breakdown(claim, sent_on, rates or base_rate_table())
    except UnknownBaseRate as error:
        raise NoticeNotSendable(str(error), permanent=False) from None
    if breakdown.time_barred:
        raise NoticeNotSendable(f"the claim is time-barred since {breakdown.limitation_date}", permanent=True)
    language = notice_language(receivable, settings)
    reference = assign_payment_reference(receivable)
    deadline = payment_deadline(notice, sent_on)
    images: dict[str, bytes] = {}
    qr_png = _girocode_png(settings, breakdown.total_outstanding, reference) if image_domain else None
    if qr_png:
        images[f"girocode-{notice.id}@{image_domain}"] = qr_png
    content = notice_content(
        claim,
        breakdown,
        kind=NoticeKind(notice.kind),
        language=language,
        merchant_name=merchant.name,
        debtor_name=debtor_name(receivable),
        invoice_number=receivable.number,
        payment_deadline=deadline,
        payment=PaymentDetails(
            account_holder=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            reference=reference,
        ),
        girocode_cid=next(iter(images), None),
    )
    return PreparedNotice(
        rendered=render_notice(content),
        language=language,
        recipient=str(recipient),
        breakdown=breakdown,
        reference=reference,
        deadline=deadline,
        settings=settings,
        inline_images=images,
    )


def build_notice_email(
    notice: DunningNotice,
    receivable: Receivable,
    merchant: Merchant,
    sent_on: date,
    sender: MailIdentity,
    *,
    bookings: list[Booking] | None = None,
    sent: list[claims.DunningNotice] | None = None,
    rates: BaseRateTable | None = None,
) -> tuple[FlatMessage, PreparedNotice]:
    """Render a notice as of ``sent_on`` into an e-mail ready for the server; raise ``NoticeNotSendable`` when it cannot go."""
    prepared = prepare_notice(
        notice,
        receivable,
        merchant,
        sent_on,
        image_domain=sender.domain,
        bookings=bookings,
        sent=sent,
        rates=rates,
    )
    rendered = prepared.rendered
    message = compose(
        to=[prepared.recipient],
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=formataddr((merchant.name, sender.address)),
        reply_to=prepared.settings.reply_to,
        message_id=message_id_for(f"dunning-notice-{notice.id}", sender.domain),
        inline_images=prepared.inline_images or None,
    )
    return message, prepared


def plugin_notice_payload(
    notice: DunningNotice, receivable: Receivable, merchant: Merchant, sent_on: date
) -> dict[str, Any]:
    """Return the whole notice as the ClaimBridge WordPress plugin's ``dunning-notices`` route takes it."""
    prepared = prepare_notice(notice, receivable, merchant, sent_on)
    breakdown, settings = prepared.breakdown, prepared.settings
    payload = ""
    try:
        payload = girocode_payload(
            name=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            amount=breakdown.total_outstanding,
            reference=prepared.reference,
        )
    except GiroCodeError as error:
        logger.warning("notice %s without GiroCode: %s", notice.id, error)
    return {
        "notice_id": f"claimbridge-notice-{notice.id}",
        "order_id": int(receivable.external_id),
        "stage": notice.kind,
        "language": prepared.language,
        "recipient": {"email": prepared.recipient, "name": debtor_name(receivable)},
        "subject": prepared.rendered.subject,
        "text": prepared.rendered.text,
        "html": prepared.rendered.html,
        "amounts": {
            "principal": f"{breakdown.principal_outstanding:.2f}",
            "fees": f"{breakdown.costs_outstanding:.2f}",
            "interest": f"{breakdown.interest_outstanding:.2f}",
            "total": f"{breakdown.total_outstanding:.2f}",
            "currency": breakdown.currency,
        },
        "deadline": prepared.deadline.isoformat(),
        "payment_reference": prepared.reference,
        "creditor": {
            "name": settings.account_holder or "",
            "iban": settings.iban or "",
            "bic": settings.bic or "",
        },
        "girocode": payload,
    }


def _girocode_png(settings: DunningSettings, amount: Decimal, reference: str) -> bytes | None:
    """Return the EPC QR code for paying ``amount``, or None when the details do not fit one (notice goes)."""
    try:
        return _cached_girocode_png(
            settings.account_holder or "", settings.iban or "", settings.bic or "", amount, reference
        )
    except GiroCodeError as error:
        logger.warning("notice without GiroCode: %s", error)
        return None


@functools.lru_cache(maxsize=1024)
def _cached_girocode_png(name: str, iban: str, bic: str, amount: Decimal, reference: str) -> bytes:
    # The image depends on these five values alone; a retried or re-rendered notice (the console's preview,
    # the shop channel) reuses it instead of encoding the QR code again.
    return girocode_png(girocode(name=name, iban=iban, bic=bic, amount=amount, reference=reference))
