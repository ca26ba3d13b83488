"""Tests for notice e-mails: formatting, every template in both languages, and delivery over SMTP."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from backend.dunning.base_rates import bundled_table
from backend.dunning.claims import (
    Channel,
    Claim,
    DebtorKind,
    DunningNotice,
    NoticeKind,
    claim_breakdown,
)
from backend.dunning.notices import (
    Language,
    NoticeContent,
    PaymentDetails,
    _environment,
    format_date,
    format_money,
    format_percent,
    notice_content,
    render_notice,
)
from backend.receivables.bookings import Booking, BookingKind
from connectors.mail import SmtpMailer, build_message, message_id_for
from tests.fakes.smtp import FakeSmtpServer

D = Decimal
NBSP = "\u00a0"
PAYMENT = PaymentDetails("Beispiel Shop GmbH", "DE89370400440532013000", "COBADEFFXXX", "RE-2024-0815")

# Consumer invoice over €1,234.56 due 5 June 2024; reminder 13 June creates default from 15 June;
# Mahnung 27 June (letter, fee 2.50); €100.00 paid 1 July; final notice 11 July (letter, fee 2.50).
CLAIM = Claim(
    principal=D("1234.56"),
    invoice_date=date(2024, 5, 22),
    due_date=date(2024, 6, 5),
    debtor_kind=DebtorKind.CONSUMER,
    notices=[
        DunningNotice(NoticeKind.REMINDER, date(2024, 6, 13)),
        DunningNotice(NoticeKind.DUNNING, date(2024, 6, 27), D("2.50"), channel=Channel.LETTER),
        DunningNotice(NoticeKind.FINAL_NOTICE, date(2024, 7, 11), D("2.50"), channel=Channel.LETTER),
    ],
    bookings=[Booking(BookingKind.PAYMENT, date(2024, 7, 1), D("100.00"))],
)
NOTICE_DAYS = {
    NoticeKind.REMINDER: date(2024, 6, 13),
    NoticeKind.DUNNING: date(2024, 6, 27),
    NoticeKind.FINAL_NOTICE: date(2024, 7, 11),
}


def content(kind: NoticeKind, language: Language, **overrides: object) -> NoticeContent:
    breakdown = claim_breakdown(CLAIM, NOTICE_DAYS[kind], bundled_table())
    values: dict[str, object] = {
        "kind": kind,
        "language": language,
        "merchant_name": "Beispiel Shop GmbH",
        "debtor_name": "Erika Mustermann",
        "invoice_number": "RE-2024-0815",
        "payment_deadline": date(2024, 7, 25),
        "payment": PAYMENT,
    }
    values.update(overrides)
    return notice_content(CLAIM, breakdown, **values)  # type: ignore[arg-type]


class TestFormatting:
    @pytest.mark.parametrize(
        ("amount", "german", "english"),
        [
            (D("1234.56"), f"1.234,56{NBSP}€", "€1,234.56"),
            (D("1234567.8"), f"1.234.567,80{NBSP}€", "€1,234,567.80"),
            (D("0.005"), f"0,01{NBSP}€", "€0.01"),
            (D("-2.5"), f"-2,50{NBSP}€", "-€2.50"),
        ],
    )
    def test_money(self, amount: Decimal, german: str, english: str) -> None:
        assert format_money(amount, "de") == german
        assert format_money(amount, "en") == english

    def test_percent_and_date(self) -> None:
        assert format_percent(D("8.62"), "de") == f"8,62{NBSP}%"
        assert format_percent(D("8.62"), "en") == "8.62%"
        assert format_date(date(2024, 7, 1), "de") == "01.07.2024"
        assert format_date(date(2024, 7, 1), "en") == "1 July 2024"


class TestNoticeContent:
    def test_reminder_carries_no_fee_or_interest(self) -> None:
        reminder = content(NoticeKind.REMINDER, "de")
        assert (reminder.dunning_fees, reminder.interest, reminder.total) == (0, 0, D("1234.56"))

    def test_final_notice_matches_the_claim(self) -> None:
        # Interest to 30 June on 1,234.56 at 8.62 %: 16 days -> 1234.56 x 8.62 x 16 / 36500 = 4.6649 -> 4.66.
        # 1 July: €100.00 pays fee 2.50, interest 4.66, principal 92.84 -> 1,141.72.
        # 1-11 July at 8.37 % on 1,141.72: 11 days -> 1141.72 x 8.37 x 11 / 36500 = 2.8800 -> 2.88.
        # Fees 2.50 + 2.50, interest 7.54: total 1,234.56 - 100.00 + 5.00 + 7.54 = 1,147.10.
        final = content(NoticeKind.FINAL_NOTICE, "de")
        assert (final.paid, final.dunning_fees, final.interest, final.total) == (
            D("100.00"),
            D("5.00"),
            D("7.54"),
            D("1147.10"),
        )
        assert final.default_since == date(2024, 6, 15)

    def test_rejects_a_total_that_does_not_add_up(self) -> None:
        final = content(NoticeKind.FINAL_NOTICE, "de")
        with pytest.raises(ValueError, match="total"):
            NoticeContent(**{**final.__dict__, "total": final.total + 1})


class TestRenderNotice:
    @pytest.mark.parametrize("language", ["de", "en"])
    @pytest.mark.parametrize("kind", list(NoticeKind))
    def test_renders_every_stage_in_both_languages(self, kind: NoticeKind, language: Language) -> None:
        rendered = render_notice(content(kind, language))
        total = content(kind, language).total
        expected = {
            "de": [format_money(total, "de"), "RE-2024-0815", "22.05.2024", "05.06.2024", "25.07.2024"],
            "en": [format_money(total, "en"), "RE-2024-0815", "22 May 2024", "5 June 2024", "25 July 2024"],
        }[language]
        for part in (rendered.text, rendered.html):
            for snippet in [*expected, "Beispiel Shop GmbH", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX"]:
                assert snippet in part, (snippet, part)
        assert "RE-2024-0815" in rendered.subject
        assert rendered.html.lstrip().startswith("<!DOCTYPE html>")

    @pytest.mark.parametrize(
        ("language", "subject", "fee_line", "interest_line", "handover"),
        [
            (
                "de",
                "Letzte Mahnung vor Übergabe an ein Inkassounternehmen: Rechnung RE-2024-0815 vom 22.05.2024",
                f"Mahngebühren: 5,00{NBSP}€",
                f"Verzugszinsen 8,37{NBSP}% p. a. (Basiszinssatz 3,37{NBSP}% + 5 Prozentpunkte) auf "
                f"1.141,72{NBSP}€ vom 01.07.2024 bis 11.07.2024 (11 Tage): 2,88{NBSP}€",
                "übergeben wir die Forderung ohne weitere Ankündigung dem Inkassounternehmen Inkasso AG",
            ),
            (
                "en",
                "Final notice before referral to a collection agency: invoice RE-2024-0815 of 22 May 2024",
                "Dunning fees: €5.00",
                "Default interest at 8.37% p.a. (base rate 3.37% + 5 percentage points) on €1,141.72 "
                "from 1 July 2024 to 11 July 2024 (11 days): €2.88",
                "refer the claim without further notice to the collection agency Inkasso AG",
            ),
        ],
    )
    def test_final_notice_states_fees_interest_and_handover(
        self, language: Language, subject: str, fee_line: str, interest_line: str, handover: str
    ) -> None:
        rendered = render_notice(content(NoticeKind.FINAL_NOTICE, language, collection_agency="Inkasso AG"))
        assert rendered.subject == subject
        assert fee_line in rendered.text
        assert interest_line in rendered.text
        assert handover in rendered.text
        assert handover in rendered.html

    @pytest.mark.parametrize(
        ("language", "costs"),
        [
            (
                "de",
                "Die für die Einziehung notwendigen Kosten haben Sie dann als Verzugsschaden zu ersetzen, "
                "höchstens in der gesetzlich begrenzten Höhe der Gebühren, die ein Rechtsanwalt dafür verlangen "
                "dürfte (§ 13e RDG).",
            ),
            (
                "en",
                "You will then have to reimburse the costs necessary for collection as damages for default, "
                "limited by law to the fees a lawyer could charge for it (section 13e RDG).",
            ),
        ],
    )
    def test_final_notice_promises_only_necessary_capped_collection_costs(
        self, language: Language, costs: str
    ) -> None:
        rendered = render_notice(content(NoticeKind.FINAL_NOTICE, language))
        assert costs in " ".join(rendered.text.split())
        assert (
            "resulting additional costs" not in rendered.text
            and "entstehenden weiteren Kosten" not in rendered.text
        )

    @pytest.mark.parametrize("language", ["de", "en"])
    @pytest.mark.parametrize("kind", list(NoticeKind))
    @pytest.mark.parametrize("agency", [None, "Inkasso AG"])
    def test_text_is_the_stage_template_rendered_whole(
        self, kind: NoticeKind, language: Language, agency: str | None
    ) -> None:
        notice = content(kind, language, collection_agency=agency)
        variables = {field.name: getattr(notice, field.name) for field in dataclasses.fields(notice)}
        template = _environment(language).get_template(f"{kind.value}.txt")
        assert render_notice(notice).text == template.render(variables, interest=notice.interest)

    def test_html_escapes_names(self) -> None:
        rendered = render_notice(content(NoticeKind.DUNNING, "en", debtor_name="<b>Eve</b> & Co"))
        assert "&lt;b&gt;Eve&lt;/b&gt; &amp; Co" in rendered.html
        assert "<b>Eve</b> & Co" in rendered.text

    def test_reminder_does_not_announce_a_handover(self) -> None:
        rendered = render_notice(content(NoticeKind.REMINDER, "de"))
        assert rendered.subject == "Zahlungserinnerung: Rechnung RE-2024-0815 vom 22.05.2024"
        assert "Inkasso" not in rendered.text
        assert "Verzugszinsen" not in rendered.text


class TestSendNotice:
    def test_notice_arrives_with_amounts_in_text_and_html(self) -> None:
        rendered = render_notice(content(NoticeKind.DUNNING, "de"))
        with FakeSmtpServer(users={"notices": "pw"}) as server:
            mailer = SmtpMailer.from_url(
                server.url(user="notices", password="pw", sender="billing@shop.example")
            )
            mailer.send(
                build_message(
                    to=["erika@example.org"],
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    message_id=message_id_for("notice-7", "claimbridge.example"),
                )
            )
            (received,) = server.messages
        # Mahnung of 27 June: interest 15-27 June, 13 days x 8.62 % on 1,234.56
        # = 1234.56 x 8.62 x 13 / 36500 = 3.7903 -> 3.79; fee 2.50; total 1,234.56 + 2.50 + 3.79 = 1,240.85.
        assert received.rcpt_tos == ("erika@example.org",)
        assert received.message["Subject"] == "Mahnung: Rechnung RE-2024-0815 vom 22.05.2024"
        assert received.message["Message-ID"] == "<notice-7@claimbridge.example>"
        for part in (received.text, received.html):
            assert f"1.240,85{NBSP}€" in part
            assert f"2,50{NBSP}€" in part
            assert f"3,79{NBSP}€" in part
            assert f"8,62{NBSP}%" in part
