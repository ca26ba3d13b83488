"""A test notice: the merchant's own 1st dunning notice for a made-up invoice, sent to the merchant.

It uses the same claim calculation, texts, payment details, GiroCode and mail settings as real notices, so
what arrives is what buyers will get; the subject says it is a test and the debtor is fictitious.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from email.utils import formataddr

from backend.dunning import claims
from backend.dunning.base_rates import UnknownBaseRate
from backend.dunning.claims import DebtorKind, NoticeKind
from backend.dunning.merchant_settings import get_dunning_settings, get_schedules
from backend.dunning.notice_building import mail_identity
from backend.dunning.notices import PaymentDetails, notice_content, render_notice
from backend.dunning.rate_store import base_rate_table
from backend.dunning.sending import configured_mailer
from backend.errors import ServiceUnavailableError, UserValueError
from backend.merchants.models import Merchant
from connectors.mail import Mailer, MailError, build_message, message_id_for

SAMPLE_PRINCIPAL = Decimal("119.00")
SAMPLE_REFERENCE = "CB-TEST-0"


def send_test_notice(
    merchant: Merchant, *, to: str, language: str, today: date, mailer: Mailer | None = None
) -> str:
    """Send the merchant's 1st dunning notice for a sample invoice to ``to``; return the Message-ID."""
    mailer = mailer or configured_mailer()
    sender = mail_identity(mailer)
    if mailer is None or sender is None:
        raise ServiceUnavailableError(
            "No mail server or sender address is configured on this server; ask your operator.",
            code="mail_not_configured",
        )
    settings = get_dunning_settings(merchant)
    if not settings.has_payment_details:
        raise UserValueError(
            "Save your bank account first: every notice names it.",
            details={"/payment_details/iban": ["required for notices"]},
        )
    stage = get_schedules(merchant.id)[DebtorKind.CONSUMER].stage(NoticeKind.DUNNING)
    fee = stage.fee if stage is not None else Decimal("0.00")
    deadline_days = stage.payment_deadline_days if stage is not None else 10
    claim = claims.Claim(
        principal=SAMPLE_PRINCIPAL,
        invoice_date=today - timedelta(days=40),
        due_date=today - timedelta(days=26),
        debtor_kind=DebtorKind.CONSUMER,
        notices=[
            claims.DunningNotice(NoticeKind.REMINDER, today - timedelta(days=19)),
            claims.DunningNotice(NoticeKind.DUNNING, today, fee),
        ],
    )
    try:
        breakdown = claims.claim_breakdown(claim, today, base_rate_table())
    except UnknownBaseRate as error:
        raise ServiceUnavailableError(str(error), code="base_rate_missing") from None
    content = notice_content(
        claim,
        breakdown,
        kind=NoticeKind.DUNNING,
        language="de" if language == "de" else "en",
        merchant_name=merchant.name,
        debtor_name="Erika Mustermann (Test)",
        invoice_number="TEST-0001",
        payment_deadline=today + timedelta(days=deadline_days),
        payment=PaymentDetails(
            account_holder=settings.account_holder or "",
            iban=settings.iban or "",
            bic=settings.bic or "",
            reference=SAMPLE_REFERENCE,
        ),
    )
    rendered = render_notice(content)
    message = build_message(
        to=[to],
        subject=f"[TEST] {rendered.subject}",
        text=rendered.text,
        html=rendered.html,
        sender=formataddr((merchant.name, sender.address)),
        reply_to=settings.reply_to,
        message_id=message_id_for(f"test-notice-{uuid.uuid4().hex}", sender.domain),
    )
    try:
        return mailer.send(message)
    except MailError as error:
        raise ServiceUnavailableError(
            f"The mail server did not take the test notice: {error}", code="mail_failed"
        ) from None
