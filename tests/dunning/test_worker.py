"""The dunning worker end to end: evaluation, SMTP delivery, stops, concurrency and crashes.

The walk-through case, computed by hand (default schedule: reminder +7, Mahnung +14, final notice +28,
all by e-mail and so without fees; deadlines 5, 10 and 14 days, moved to Monday by §193 BGB; first notice
not before 2 banking days after the due date have passed):

- consumer invoice RE-1001 over €1,190.00 dated Mon 2 June 2025, due Mon 16 June (14 days' terms);
- reminder Mon 23 June (due + 7; the grace ended with Wed 18 June), deadline Sat 28 June → Mon 30 June; it
  is the first Mahnung, received 24 June, and it grants time until 30 June: default from Tue 1 July;
- Mahnung Tue 1 July: due + 14 = 30 June, but not before the reminder's deadline has passed; deadline
  11 July;
- €200.00 paid Tue 8 July (credited to interest, then principal);
- final notice Mon 14 July (due + 28), deadline 28 July.

Interest (consumer: base rate 1.27 + 5 points = 6.27 %, actual/365, each segment rounded):
1 July 1 day on 1,190.00: 1190 x 6.27 / 36500 = 0.2044 → 0.20;
1-7 July 7 days on 1,190.00: 1190 x 6.27 x 7 / 36500 = 1.4309 → 1.43; the €200 pays 1.43 interest and
198.57 principal → 991.43; 8-14 July 7 days on 991.43: 991.43 x 6.27 x 7 / 36500 = 1.1922 → 1.19;
8-20 July 13 days: 991.43 x 6.27 x 13 / 36500 = 2.2140 → 2.21.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
import sqlalchemy as sa
import zxingcpp
from flask import Flask
from PIL import Image

from backend.dunning import sending
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.girocode import girocode, girocode_png
from backend.dunning.models import DunningBuyerStop, DunningNotice, NoticeStatus
from backend.dunning.sending import SEND_LEASE, send_queued_notices
from backend.extensions import db, utcnow
from backend.merchants.models import Merchant
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable, ReceivableEvent
from connectors.mail import FlatMessage, MailConnectionError, Mailer, SmtpMailer
from connectors.shops.base import OrderState
from tests.dunning.conftest import MAIL_FROM
from tests.dunning.factories import BIC, IBAN, set_payment_details
from tests.factories import make_connection, shop_order, upsert
from tests.fakes.smtp import FakeSmtpServer, ReceivedMail

D = Decimal
NBSP = "\u00a0"
INVOICED = date(2025, 6, 2)
DUE = date(2025, 6, 16)
REMINDER_DAY = date(2025, 6, 23)
DUNNING_DAY = date(2025, 7, 1)
PAYMENT_DAY = date(2025, 7, 8)
FINAL_DAY = date(2025, 7, 14)


def run_day(day: date) -> None:
    """One worker round on ``day``: decide what is due, then send it."""
    queue_due_notices(day)
    send_queued_notices(day)


def notices(receivable: Receivable) -> list[DunningNotice]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(DunningNotice).filter_by(receivable_id=receivable.id).order_by("id"))
    )


@pytest.fixture
def dunning_merchant(merchant: Merchant) -> Merchant:
    set_payment_details(merchant)
    return merchant


@pytest.fixture
def invoice(dunning_merchant: Merchant) -> Callable[..., Receivable]:
    connection = make_connection(dunning_merchant)

    def factory(external_id: str = "1001", **kwargs: object) -> Receivable:
        return upsert(connection, shop_order(external_id, invoiced_on=INVOICED, **kwargs))  # type: ignore[arg-type]

    factory.connection = connection  # type: ignore[attr-defined]
    return factory


class TestConsumerWalkThrough:
    def test_reminder_mahnung_and_final_notice_go_out_on_their_days(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, client, auth_headers, merchant
    ) -> None:
        receivable = invoice()
        assert receivable.due_date == DUE
        sent_on: dict[date, list[str]] = {}
        day = DUE
        while day <= date(2025, 8, 15):
            if day == PAYMENT_DAY:
                upsert(
                    invoice.connection,  # type: ignore[attr-defined]
                    shop_order(
                        "1001",
                        invoiced_on=INVOICED,
                        state=OrderState.PARTIALLY_PAID,
                        paid_amount="200.00",
                        paid_on=PAYMENT_DAY,
                    ),
                )
            before = len(smtp_server.messages)
            run_day(day)
            arrived = smtp_server.messages[before:]
            if arrived:
                sent_on[day] = [mail.message["Subject"] for mail in arrived]
            day += timedelta(days=1)

        assert sent_on == {
            REMINDER_DAY: ["Zahlungserinnerung: Rechnung RE-1001 vom 02.06.2025"],
            DUNNING_DAY: ["Mahnung: Rechnung RE-1001 vom 02.06.2025"],
            FINAL_DAY: [
                "Letzte Mahnung vor Übergabe an ein Inkassounternehmen: Rechnung RE-1001 vom 02.06.2025"
            ],
        }
        stored = notices(receivable)
        assert [(n.kind, n.sent_on, n.deadline_on, n.fee, n.status) for n in stored] == [
            ("reminder", REMINDER_DAY, date(2025, 6, 30), D("0.00"), "sent"),
            ("dunning", DUNNING_DAY, date(2025, 7, 11), D("0.00"), "sent"),
            ("final_notice", FINAL_DAY, date(2025, 7, 28), D("0.00"), "sent"),
        ]
        assert db.session.get(Receivable, receivable.id).dunning_level == 3

        reminder, dunning, final = smtp_server.messages
        for mail, notice in zip((reminder, dunning, final), stored, strict=True):
            assert mail.rcpt_tos == ("erika.mustermann@example.org",)
            assert mail.message["Message-ID"] == f"<dunning-notice-{notice.id}@claimbridge.example>"
            assert mail.message["From"] == f"Beispiel Shop GmbH <{MAIL_FROM}>"
            assert notice.message_id == mail.message["Message-ID"]
            assert "IBAN: DE89 3704 0044 0532 0130 00" in mail.text
            assert "BIC: COBADEFFXXX" in mail.text
            assert f"Verwendungszweck: {receivable.payment_reference}" in mail.text
            assert "DE89 3704 0044 0532 0130 00" in mail.html
            assert f'src="cid:girocode-{notice.id}@claimbridge.example"' in mail.html

        [image] = [part for part in reminder.message.walk() if part.get_content_type() == "image/png"]
        assert image["Content-ID"] == f"<girocode-{stored[0].id}@claimbridge.example>"
        expected = girocode(
            name="Beispiel Shop GmbH",
            iban=IBAN,
            bic=BIC,
            amount=D("1190.00"),
            reference=receivable.payment_reference,
        )
        assert image.get_content() == girocode_png(expected)
        [scanned] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
        assert scanned.text == expected.payload  # a banking app reads the transfer from the e-mail's image

        assert f"Offener Gesamtbetrag: 1.190,00{NBSP}€" in reminder.text
        assert "bis spätestens 30.06.2025" in reminder.text
        assert "Verzugszinsen" not in reminder.text

        assert "Mahngebühren" not in dunning.text  # an e-mail costs nothing
        assert "Seit dem 01.07.2025 befinden Sie sich mit der Zahlung in Verzug" in dunning.text
        assert (
            f"Verzugszinsen 6,27{NBSP}% p. a. (Basiszinssatz 1,27{NBSP}% + 5 Prozentpunkte) auf 1.190,00{NBSP}€ "
            f"vom 01.07.2025 bis 01.07.2025 (1 Tage): 0,20{NBSP}€" in dunning.text
        )
        assert f"Offener Gesamtbetrag: 1.190,20{NBSP}€" in dunning.text
        assert "bis spätestens 11.07.2025" in dunning.text

        assert f"Zahlungen und Gutschriften: -200,00{NBSP}€" in final.text
        assert "Mahngebühren" not in final.text
        assert f"auf 991,43{NBSP}€ vom 08.07.2025 bis 14.07.2025 (7 Tage): 1,19{NBSP}€" in final.text
        assert f"Offener Gesamtbetrag: 992,62{NBSP}€" in final.text
        assert "bis spätestens 28.07.2025" in final.text
        assert "übergeben wir die Forderung" in final.text

        headers = auth_headers(merchant, "handovers:read")
        claim = client.get(f"/api/v1/receivables/{receivable.id}/claim?as_of=2025-07-20", headers=headers)
        assert claim.status_code == 200, claim.get_json()
        body = claim.get_json()
        assert [
            (s["first_day"], s["last_day"], s["base_rate"], s["amount"]) for s in body["interest_segments"]
        ] == [
            ("2025-07-01", "2025-07-07", "1.27", "1.43"),
            ("2025-07-08", "2025-07-20", "1.27", "2.21"),
        ]
        assert body["payments"] == [
            {
                "booked_on": "2025-07-08",
                "amount": "200.00",
                "to_costs": "0.00",
                "to_interest": "1.43",
                "to_principal": "198.57",
                "to_overpayment": "0.00",
            }
        ]
        assert body["default_start"] == "2025-07-01"
        assert body["first_dunning_notice_on"] == "2025-06-23"
        assert (body["dunning_fees"], body["interest"]) == ("0.00", "3.64")
        assert (body["principal_outstanding"], body["costs_outstanding"], body["interest_outstanding"]) == (
            "991.43",
            "0.00",
            "2.21",
        )
        assert body["total_outstanding"] == "993.64"

        before_change = client.get(
            f"/api/v1/receivables/{receivable.id}/claim?as_of=2025-06-30", headers=headers
        )
        assert before_change.get_json()["total_outstanding"] == "1190.00"  # not in default before 1 July

    def test_notice_is_in_english_for_a_buyer_abroad(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        invoice(country="NL", email="jan@example.nl")
        run_day(REMINDER_DAY)
        (mail,) = smtp_server.messages
        assert mail.message["Subject"] == "Payment reminder: invoice RE-1001 of 2 June 2025"
        assert "Dear Erika Mustermann," in mail.text
        assert "Total outstanding: €1,190.00" in mail.text
        assert "Please transfer €1,190.00 by 30 June 2025 at the latest" in mail.text
        assert "IBAN: DE89 3704 0044 0532 0130 00" in mail.text

    def test_a_late_first_run_still_sends_only_the_first_stage(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        run_day(date(2025, 8, 1))
        run_day(date(2025, 8, 1))
        assert [n.kind for n in notices(receivable)] == ["reminder"]
        assert len(smtp_server.messages) == 1


class TestDunningStops:
    def test_full_payment_stops_dunning_at_once(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        run_day(REMINDER_DAY)
        upsert(
            invoice.connection,  # type: ignore[attr-defined]
            shop_order("1001", invoiced_on=INVOICED, state=OrderState.PAID, paid_on=date(2025, 6, 25)),
        )
        for offset in range(60):
            run_day(DUNNING_DAY + timedelta(days=offset))
        assert [n.kind for n in notices(receivable)] == ["reminder"]
        assert len(smtp_server.messages) == 1

    def test_queued_notice_is_not_sent_after_a_payment(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        run_day(REMINDER_DAY)
        queue_due_notices(DUNNING_DAY)
        upsert(
            invoice.connection,  # type: ignore[attr-defined]
            shop_order("1001", invoiced_on=INVOICED, state=OrderState.PAID, paid_on=DUNNING_DAY),
        )
        send_queued_notices(DUNNING_DAY)
        assert len(smtp_server.messages) == 1
        _reminder, dunning = notices(receivable)
        assert (dunning.kind, dunning.status, dunning.sent_on) == ("dunning", "cancelled", None)
        assert db.session.get(Receivable, receivable.id).dunning_level == 1

    def test_dispute_stops_dunning_and_resolving_resumes_it(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, client, auth_headers, merchant
    ) -> None:
        receivable = invoice()
        headers = auth_headers(merchant, "handovers:read handovers:write")
        run_day(REMINDER_DAY)
        queue_due_notices(DUNNING_DAY)
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/dispute",
            json={"reason": "Ware nie angekommen", "by": "Kundendienst"},
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        for offset in range(30):
            run_day(DUNNING_DAY + timedelta(days=offset))
        assert len(smtp_server.messages) == 1
        assert [n.status for n in notices(receivable)] == ["sent", "cancelled"]

        resolved = client.post(
            f"/api/v1/receivables/{receivable.id}/resolve-dispute",
            json={"note": "Zustellung belegt"},
            headers=headers,
        )
        assert resolved.get_json()["state"] == "open"
        run_day(date(2025, 8, 1))
        assert [m.message["Subject"].split(":")[0] for m in smtp_server.messages] == [
            "Zahlungserinnerung",
            "Mahnung",
        ]

    def test_order_stop_and_buyer_stop_each_stop_dunning(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, client, auth_headers, merchant
    ) -> None:
        stopped_order = invoice("2001")
        stopped_buyer = invoice("2002", email="Max.Muster@Example.org")
        free = invoice("2003", email="other@example.org")
        headers = auth_headers(merchant, "handovers:write")
        response = client.post(
            f"/api/v1/receivables/{stopped_order.id}/dunning-stop",
            json={"reason": "Ratenzahlung"},
            headers=headers,
        )
        assert response.status_code == 200
        response = client.put(
            "/api/v1/dunning-stops",
            json={"email": "max.muster@example.org", "stopped": True, "reason": "Stammkunde"},
            headers=headers,
        )
        assert response.get_json() == {"stopped": True, "reason": "Stammkunde", "receivables": 1}
        run_day(REMINDER_DAY)
        assert [m.rcpt_tos for m in smtp_server.messages] == [("other@example.org",)]
        assert notices(stopped_order) == notices(stopped_buyer) == []
        assert len(notices(free)) == 1

        client.delete(f"/api/v1/receivables/{stopped_order.id}/dunning-stop", headers=headers)
        client.put(
            "/api/v1/dunning-stops",
            json={"email": "max.muster@example.org", "stopped": False},
            headers=headers,
        )
        run_day(REMINDER_DAY)
        assert len(smtp_server.messages) == 3


class TestChannels:
    def test_channel_none_records_and_shop_channel_waits_for_the_shop(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, client, auth_headers, merchant
    ) -> None:
        from backend.dunning.models import ShopAction
        from backend.dunning.shop_channel import process_shop_actions

        schedule = {
            "stages": [
                {
                    "kind": "reminder",
                    "offset_days": 7,
                    "fee": "0.00",
                    "payment_deadline_days": 5,
                    "channel": "none",
                },
                {
                    "kind": "dunning",
                    "offset_days": 14,
                    "fee": "0.00",
                    "payment_deadline_days": 10,
                    "channel": "shop",
                },
                {
                    "kind": "final_notice",
                    "offset_days": 28,
                    "fee": "0.00",
                    "payment_deadline_days": 14,
                    "channel": "email",
                },
            ]
        }
        headers = auth_headers(merchant, "settings:write")
        response = client.put(
            "/api/v1/dunning-schedule", json={"consumer": schedule, "business": schedule}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        receivable = invoice()
        run_day(REMINDER_DAY)
        (recorded,) = notices(receivable)
        assert (recorded.status, recorded.sent_on, recorded.deadline_on) == (
            "sent",
            REMINDER_DAY,
            date(2025, 6, 30),
        )

        run_day(DUNNING_DAY)
        shop_notice = notices(receivable)[1]
        assert (shop_notice.channel, shop_notice.status) == ("shop", "queued")
        run_day(FINAL_DAY)
        assert len(notices(receivable)) == 2  # the final notice waits until the shop sent the Mahnung

        performed = []
        summary = process_shop_actions(
            lambda action, r: performed.append((action.action, r.external_id)), DUNNING_DAY
        )
        assert summary == "1 done"
        assert performed == [("remind", "1001")]
        assert db.session.scalar(sa.select(ShopAction.status)) == "done"
        run_day(FINAL_DAY)
        assert [n.status for n in notices(receivable)] == ["sent", "sent", "sent"]
        assert [m.message["Subject"].split(":")[0] for m in smtp_server.messages] == [
            "Letzte Mahnung vor Übergabe an ein Inkassounternehmen"
        ]


class _DyingMailer(Mailer):
    """Delivers through a real SMTP mailer, but the worker process 'dies' before or after the hand-over."""

    def __init__(self, inner: Mailer, *, after_delivery: bool) -> None:
        self.inner = inner
        self.after_delivery = after_delivery

    def deliver(self, message: FlatMessage) -> str:
        if not self.after_delivery:
            raise _WorkerDied
        self.inner.deliver(message)
        raise _WorkerDied


class _FailingMailer(Mailer):
    """Delivers through a real SMTP mailer, except the hand-overs numbered in ``failing`` (1 = the first)."""

    def __init__(self, inner: Mailer, *, failing: set[int]) -> None:
        self.inner = inner
        self.failing = failing
        self.tried = 0

    def deliver(self, message: FlatMessage) -> str:
        self.tried += 1
        if self.tried in self.failing:
            raise MailConnectionError("127.0.0.1: connection reset before DATA", should_retry=True)
        return self.inner.deliver(message)


class _WatchedHandOver(Mailer):
    """Delivers through a real SMTP mailer; records the notices' rows, as committed, when each message may go."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.engine = db.engine  # the hand-over thread has no app context
        self.seen: list[list[tuple[str, int]]] = []

    def deliver(self, message: FlatMessage) -> str:
        raise AssertionError("the sending job hands messages over with deliver_when")

    def deliver_when(self, message: FlatMessage, ready: Callable[[], bool]) -> str:
        def watched() -> bool:
            go = ready()
            table = DunningNotice.__table__
            with self.engine.connect() as other_process:
                rows = other_process.execute(
                    sa.select(table.c.status, table.c.attempts).order_by(table.c.id)
                ).all()
            self.seen.append([(status, attempts) for status, attempts in rows])
            return go

        return self.inner.deliver_when(message, watched)


class _WorkerDied(BaseException):
    """Stands for the process being killed: nothing after it runs, nothing is committed."""


def _by_message_id(
    stored: list[DunningNotice], server: FakeSmtpServer
) -> list[tuple[DunningNotice, ReceivedMail]]:
    """Pair each sent notice with the message the server received for it."""
    received = {mail.message["Message-ID"]: mail for mail in server.messages}
    return [(notice, received[notice.message_id]) for notice in stored]


def _lease_runs_out() -> None:
    """Move every lease into the past, as if the worker's lease time had gone by."""
    db.session.execute(sa.update(DunningNotice).values(next_attempt_at=DunningNotice.created_at))
    db.session.commit()


class TestCrashSafety:
    def test_worker_dying_before_the_smtp_hand_over_loses_nothing(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        mailer = _DyingMailer(SmtpMailer.from_url(smtp_server.url()), after_delivery=False)
        with pytest.raises(_WorkerDied):
            send_queued_notices(REMINDER_DAY, mailer=mailer)
        db.session.rollback()
        (notice,) = notices(receivable)
        assert notice.status == NoticeStatus.SENDING
        send_queued_notices(REMINDER_DAY)
        assert smtp_server.messages == []  # another worker respects the lease
        _lease_runs_out()
        assert send_queued_notices(REMINDER_DAY) == "1 sent"
        assert len(smtp_server.messages) == 1
        assert notices(receivable)[0].status == "sent"

    def test_worker_dying_after_the_smtp_hand_over_repeats_it_with_the_same_message_id(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        mailer = _DyingMailer(SmtpMailer.from_url(smtp_server.url()), after_delivery=True)
        with pytest.raises(_WorkerDied):
            send_queued_notices(REMINDER_DAY, mailer=mailer)
        db.session.rollback()
        _lease_runs_out()
        send_queued_notices(REMINDER_DAY)
        first, second = smtp_server.messages
        assert first.message["Message-ID"] == second.message["Message-ID"]
        (notice,) = notices(receivable)
        assert (notice.status, notice.message_id) == ("sent", first.message["Message-ID"])

    def test_a_message_goes_only_once_its_attempt_and_the_notice_before_it_sent_are_committed(
        self,
        invoice: Callable[..., Receivable],
        smtp_server: FakeSmtpServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        invoice("1001"), invoice("1002", email="other@example.org")
        queue_due_notices(REMINDER_DAY)
        mailer = _WatchedHandOver(SmtpMailer.from_url(smtp_server.url()))
        commit = sending._commit_keeping_loaded

        def slow_commit() -> None:
            time.sleep(0.1)  # a message let go before the commit would be seen before it
            commit()

        monkeypatch.setattr(sending, "_commit_keeping_loaded", slow_commit)

        assert send_queued_notices(REMINDER_DAY, mailer=mailer) == "2 sent"
        assert mailer.seen == [[("sending", 1), ("sending", 0)], [("sent", 1), ("sending", 1)]]
        assert len(smtp_server.messages) == 2

    def test_a_failed_send_in_a_batch_is_retried_and_the_rest_go_out_once(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivables = [invoice(str(5000 + n), email=f"buyer{n}@example.org") for n in range(4)]
        queue_due_notices(REMINDER_DAY)
        mailer = _FailingMailer(SmtpMailer.from_url(smtp_server.url()), failing={2})

        assert send_queued_notices(REMINDER_DAY, mailer=mailer) == "1 retried, 3 sent"
        stored = sorted((n for r in receivables for n in notices(r)), key=lambda n: n.id)
        assert [(n.status, n.attempts) for n in stored] == [
            ("sent", 1),
            ("queued", 1),
            ("sent", 1),
            ("sent", 1),
        ]
        assert "MailConnectionError" in stored[1].last_error
        assert len(smtp_server.messages) == 3

        _lease_runs_out()  # and the backoff with it
        assert send_queued_notices(REMINDER_DAY) == "1 sent"
        message_ids = [mail.message["Message-ID"] for mail in smtp_server.messages]
        assert sorted(message_ids) == sorted(n.message_id for r in receivables for n in notices(r))
        assert len(set(message_ids)) == 4  # every notice once, the failed one only when it went through
        sent = sorted((n for r in receivables for n in notices(r)), key=lambda n: n.id)
        assert [(n.status, n.attempts) for n in sent] == [("sent", 1), ("sent", 2), ("sent", 1), ("sent", 1)]
        assert all(
            n.content_sha256 == hashlib.sha256(m.raw).hexdigest()
            for n, m in _by_message_id(sent, smtp_server)
        )

    def test_each_notice_sent_gets_one_history_entry_with_its_proof(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivables = [invoice(str(5100 + n), email=f"buyer{n}@example.org") for n in range(3)]
        queue_due_notices(REMINDER_DAY)

        assert send_queued_notices(REMINDER_DAY) == "3 sent"
        for receivable in receivables:
            (notice,) = notices(receivable)
            (entry,) = db.session.scalars(
                sa.select(ReceivableEvent).filter_by(
                    receivable_id=receivable.id, kind=EventKind.DUNNING_NOTICE_SENT.value
                )
            )
            assert (entry.actor, entry.data) == (
                "dunning",
                {
                    "notice_id": notice.id,
                    "kind": notice.kind,
                    "channel": "email",
                    "sent_on": REMINDER_DAY.isoformat(),
                    "message_id": notice.message_id,
                    "content_sha256": notice.content_sha256,
                },
            )

    def test_temporary_smtp_failure_is_retried_with_backoff(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        smtp_server.defer_data = True
        assert send_queued_notices(REMINDER_DAY) == "1 retried"
        (notice,) = notices(receivable)
        assert (notice.status, notice.attempts) == ("queued", 1)
        assert "451" in notice.last_error
        assert send_queued_notices(REMINDER_DAY) == "nothing to send"  # backing off
        smtp_server.defer_data = False
        _lease_runs_out()
        assert send_queued_notices(REMINDER_DAY) == "1 sent"
        assert len(smtp_server.messages) == 1

    def test_missing_payment_details_hold_the_notice_back(
        self, merchant: Merchant, smtp_server: FakeSmtpServer
    ) -> None:
        connection = make_connection(merchant)
        receivable = upsert(connection, shop_order("3001", invoiced_on=INVOICED))
        run_day(REMINDER_DAY)
        (notice,) = notices(receivable)
        assert (notice.status, notice.attempts) == ("queued", 0)
        assert "payment details" in notice.last_error
        assert smtp_server.messages == []


class _Clock:
    """The sending job's clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


class _SlowServerMailer(Mailer):
    """Delivers through a real SMTP mailer; each hand-over takes over half the send lease on the job's clock."""

    def __init__(self, inner: Mailer, clock: _Clock) -> None:
        self.inner = inner
        self.clock = clock

    def deliver(self, message: FlatMessage) -> str:
        message_id = self.inner.deliver(message)
        self.clock.now += SEND_LEASE / 2 + timedelta(seconds=1)
        return message_id


class TestAttempts:
    def test_a_notice_leased_but_left_untried_has_spent_no_attempt(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = invoice("1001"), invoice("1002")
        queue_due_notices(REMINDER_DAY)
        clock = _Clock()
        monkeypatch.setattr(sending, "utcnow", clock)
        mailer = _SlowServerMailer(SmtpMailer.from_url(smtp_server.url()), clock)
        assert send_queued_notices(REMINDER_DAY, mailer=mailer) == "1 sent"
        tried, untried = sorted([*notices(first), *notices(second)], key=lambda n: n.status != "sent")
        assert (tried.status, tried.attempts) == ("sent", 1)
        # Leased with the batch, never handed to the server: its lease runs out, and no attempt is used up.
        assert (untried.status, untried.attempts) == ("sending", 0)


def _worker(app: Flask, days: list[date], errors: list[BaseException], barrier: threading.Barrier) -> None:
    """Run the worker's two jobs for each day, in step with the other worker (both start each day together)."""
    with app.app_context():
        try:
            for day in days:
                barrier.wait(timeout=60)
                queue_due_notices(day, batch_size=7)
                send_queued_notices(day)
        except BaseException as error:  # reported to the test thread
            errors.append(error)
            barrier.abort()
        finally:
            db.session.remove()


class TestConcurrentWorkers:
    def test_two_workers_send_every_notice_exactly_once(
        self, app: Flask, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivables = [invoice(str(4000 + n), email=f"buyer{n}@example.org") for n in range(30)]
        days = [REMINDER_DAY, DUNNING_DAY, FINAL_DAY]
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)
        workers = [threading.Thread(target=_worker, args=(app, days, errors, barrier)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []

        received: list[ReceivedMail] = smtp_server.messages
        message_ids = [mail.message["Message-ID"] for mail in received]
        assert len(message_ids) == len(set(message_ids)) == 3 * len(receivables)
        stored = db.session.scalars(sa.select(DunningNotice)).all()
        assert {n.message_id for n in stored} == set(message_ids)
        assert all(n.status == "sent" for n in stored)


def _spy_on_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Record the notice ids of every batch the sending job reads."""
    reads: list[list[int]] = []
    load = sending._load_batch

    def spied(notice_ids: list[int]) -> list[object]:
        reads.append(list(notice_ids))
        return load(notice_ids)

    monkeypatch.setattr(sending, "_load_batch", spied)
    return reads


class TestBatches:
    def test_a_batch_is_read_once_and_again_for_what_is_left_when_its_rows_are_old(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for n in range(3):
            invoice(str(6000 + n), email=f"buyer{n}@example.org")
        queue_due_notices(REMINDER_DAY)
        reads = _spy_on_reads(monkeypatch)
        monkeypatch.setattr(sending, "READ_AGAIN_AFTER", -1.0)  # every row is old by the time it is used

        assert send_queued_notices(REMINDER_DAY) == "3 sent"
        assert [len(ids) for ids in reads] == [3, 2, 1]
        assert len({mail.message["Message-ID"] for mail in smtp_server.messages}) == 3

    def test_a_second_notice_of_a_receivable_is_built_on_rows_read_after_the_first_went(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        (reminder,) = notices(receivable)
        mahnung = DunningNotice(
            merchant_id=reminder.merchant_id,
            receivable_id=receivable.id,
            kind="dunning",
            level=reminder.level + 1,
            channel="email",
            fee=D("0.00"),
            payment_deadline_days=10,
            queued_on=REMINDER_DAY,
        )
        db.session.add(mahnung)
        db.session.commit()
        reads = _spy_on_reads(monkeypatch)
        reminder_status_at_reads: list[str] = []
        load = sending._load_batch

        def load_seeing_the_reminder(notice_ids: list[int]) -> list[object]:
            with db.engine.connect() as other_process:
                table = DunningNotice.__table__
                status = table.select().with_only_columns(table.c.status).where(table.c.id == reminder.id)
                reminder_status_at_reads.append(other_process.scalar(status))
            return load(notice_ids)

        monkeypatch.setattr(sending, "_load_batch", load_seeing_the_reminder)

        assert send_queued_notices(REMINDER_DAY) == "2 sent"
        # Read again after the reminder went and was marked sent: the Mahnung's claim counts it.
        assert reads == [[reminder.id, mahnung.id], [mahnung.id]]
        assert reminder_status_at_reads == ["sending", "sent"]
        assert len(smtp_server.messages) == 2

    @pytest.mark.postgres_only  # SQLite counts each attempt in a transaction of the session
    def test_on_postgresql_each_notice_commits_by_itself_not_in_a_transaction_of_the_session(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        receivables = [invoice(str(6200 + n), email=f"buyer{n}@example.org") for n in range(8)]
        queue_due_notices(REMINDER_DAY)
        commits: list[object] = []

        def committed(connection: sa.Connection) -> None:
            commits.append(connection)

        sa.event.listen(db.engine, "commit", committed)
        try:
            assert send_queued_notices(REMINDER_DAY) == "8 sent"
        finally:
            sa.event.remove(db.engine, "commit", committed)
        # Two leases (the second finds nothing), the batch's read with its first notice and the last notice's
        # mark: not one per notice.
        assert len(commits) == 4
        assert len({mail.message["Message-ID"] for mail in smtp_server.messages}) == 8
        assert [(n.status, n.attempts) for r in receivables for n in notices(r)] == [("sent", 1)] * 8


class TestCommits:
    def test_a_session_holding_nothing_is_not_committed(self, dunning_merchant: Merchant) -> None:
        db.session.commit()
        with mock.patch.object(db.session(), "commit") as commit:
            sending._commit_keeping_loaded()
        commit.assert_not_called()

    def test_a_change_made_outside_a_transaction_is_committed_and_stays_loaded(
        self, invoice: Callable[..., Receivable]
    ) -> None:
        invoice()
        queue_due_notices(REMINDER_DAY)
        db.session.commit()
        notice = db.session.scalars(sa.select(DunningNotice)).one()
        sending._commit_keeping_loaded()  # ends the read's transaction
        assert not db.session().in_transaction()
        notice.last_error = "changed"
        sending._commit_keeping_loaded()
        assert "last_error" in sa.inspect(notice).dict
        with db.engine.connect() as connection:
            stored = connection.scalar(sa.select(DunningNotice.last_error).filter_by(id=notice.id))
        assert stored == "changed"


def _changed_meanwhile(monkeypatch: pytest.MonkeyPatch, change: Callable[[sa.Connection], None]) -> None:
    """Let another process ``change`` the database once, after the first notice was built from its batch."""
    build = sending.build_notice_email
    done: list[bool] = []

    def built_then_changed(*args: object, **kwargs: object) -> object:
        result = build(*args, **kwargs)
        if not done:
            done.append(True)
            with db.engine.begin() as other_process:
                change(other_process)
        return result

    monkeypatch.setattr(sending, "build_notice_email", built_then_changed)


class TestDecidedOnCurrentRows:
    def test_a_receivable_disputed_after_its_batch_was_read_gets_no_notice(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        table = Receivable.__table__
        _changed_meanwhile(
            monkeypatch,
            lambda other: other.execute(
                table.update().where(table.c.id == receivable.id).values(disputed_at=utcnow())
            ),
        )

        assert send_queued_notices(REMINDER_DAY) == "1 cancelled"
        assert smtp_server.messages == []
        (notice,) = notices(receivable)
        assert (notice.status, notice.attempts) == ("cancelled", 0)

    def test_a_buyer_stopped_after_its_batch_was_read_gets_no_notice(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        receivable = invoice()
        queue_due_notices(REMINDER_DAY)
        stop = {
            "merchant_id": receivable.merchant_id,
            "email_key": receivable.email_key,
            "reason": "buyer asked",
            "created_by": "test",
            "created_at": utcnow(),
        }
        _changed_meanwhile(
            monkeypatch, lambda other: other.execute(DunningBuyerStop.__table__.insert(), stop)
        )

        assert send_queued_notices(REMINDER_DAY) == "1 cancelled"
        assert smtp_server.messages == []

    def test_only_the_notice_whose_rows_changed_is_read_again(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = invoice("1001"), invoice("1002", email="other@example.org")
        queue_due_notices(REMINDER_DAY)
        (first_notice,), (second_notice,) = notices(first), notices(second)
        table = Receivable.__table__
        _changed_meanwhile(  # while the first notice is handed over, the second's receivable is disputed
            monkeypatch,
            lambda other: other.execute(
                table.update().where(table.c.id == second.id).values(disputed_at=utcnow())
            ),
        )
        reads = _spy_on_reads(monkeypatch)

        assert send_queued_notices(REMINDER_DAY) == "1 cancelled, 1 sent"
        assert reads == [[first_notice.id, second_notice.id], [second_notice.id]]
        assert [n.status for n in notices(first) + notices(second)] == ["sent", "cancelled"]


class TestLawfulDunning:
    def test_every_sent_notice_records_proof_of_sending(
        self, invoice: Callable[..., Receivable], smtp_server: FakeSmtpServer
    ) -> None:
        import hashlib

        receivable = invoice()
        run_day(REMINDER_DAY)
        (notice,) = notices(receivable)
        (mail,) = smtp_server.messages
        assert (notice.channel, notice.sent_on) == ("email", REMINDER_DAY)
        assert notice.sent_at is not None and notice.message_id == mail.message["Message-ID"]
        # The hash is of the exact bytes handed to the SMTP server: those the server received.
        assert notice.content_sha256 == hashlib.sha256(mail.raw).hexdigest()

    def test_the_first_notice_waits_for_the_grace_period(self, invoice: Callable[..., Receivable]) -> None:
        # Due Mon 16 June 2025; with a first stage at due + 3 (Thu 19 June) and 3 banking days of grace
        # (17, 18, 19 June; 19 June is Corpus Christi only in some Länder) the first notice goes on 20 June.
        from backend.dunning.merchant_settings import get_schedules, replace_schedules, schedules_document

        merchant_id = invoice.connection.merchant_id  # type: ignore[attr-defined]
        document = schedules_document(get_schedules(merchant_id))
        for schedule in document.values():
            schedule["grace_banking_days"] = 3
            schedule["stages"][0]["offset_days"] = 3
        replace_schedules(merchant_id, document, actor="test")
        db.session.commit()
        receivable = invoice()
        queue_due_notices(date(2025, 6, 19))
        assert notices(receivable) == []
        queue_due_notices(date(2025, 6, 20))
        assert [n.kind for n in notices(receivable)] == ["reminder"]

    def test_a_time_barred_claim_gets_no_notice(self, dunning_merchant: Merchant) -> None:
        # Invoice 26 April 2022, due 10 May 2022: barred after 31 December 2025; nothing goes out in 2026.
        connection = make_connection(dunning_merchant)
        receivable = upsert(connection, shop_order("old", invoiced_on=date(2022, 4, 26)))
        assert receivable.due_date == date(2022, 5, 10)
        queue_due_notices(date(2026, 1, 12))
        assert notices(receivable) == []
