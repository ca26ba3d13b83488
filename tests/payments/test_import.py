"""Statement import end to end: upload or CLI, matching, review, and every effect of an applied payment."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.audit.models import AuditEvent
from backend.cases.models import AgencyCasePayment
from backend.cli import main
from backend.dates import berlin_today
from backend.dunning.evaluation import queue_due_notices
from backend.dunning.models import DunningNotice
from backend.dunning.sending import send_queued_notices
from backend.extensions import db
from backend.handovers.mirroring import poll_submitted_handovers
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.shop_updates import process_shop_updates
from backend.handovers.submission import submit_approved_handovers
from backend.merchants.models import Merchant, ShopConnection
from backend.payments import services, views
from backend.payments.cli import _ReadProgress
from backend.payments.models import BankTransactionRecord, ImportedStatement, KnownPayerIban, PaymentMatch
from backend.receivables.ledger import payment_bookings
from backend.receivables.models import Receivable, ReceivableEvent
from connectors.shops.base import Address, Buyer
from tests.dunning.factories import set_payment_details
from tests.factories import make_connection, overdue_receivable, shop_order, upsert
from tests.handovers.conftest import set_rules
from tests.payments.generate import GeneratedTransfer, write_camt053, write_mt940

UPLOAD = "orders:write"
REVIEW = "handovers:read handovers:write"
PAYER_IBAN = "DE44500105175407324931"
OTHER_IBAN = "DE89370400440532013000"  # an account none of the buyers paid from


def transfer(amount: str, *, name: str, remittance: str, reference: str = "", iban: str = PAYER_IBAN) -> Any:
    """Build one incoming transfer booked today."""
    return GeneratedTransfer(
        kind="test",
        credit=True,
        amount=Decimal(amount),
        booking_date=berlin_today(),
        name=name,
        iban=iban,
        remittance=remittance,
        bank_reference=reference,
    )


def camt(*transfers: Any) -> bytes:
    out = io.StringIO()
    write_camt053(transfers, out)
    return out.getvalue().encode()


def upload(client: Any, headers: dict[str, str], data: bytes, field: str = "file") -> Any:
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(data), "statement.xml")})
    return client.post(
        "/api/v1/bank-statements",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def overdue_order(
    connection: ShopConnection, external_id: str, *, days: int = 30, **kwargs: Any
) -> Receivable:
    """An API invoice order invoiced ``days`` ago (due 14 days later), buyer Erika Mustermann by default."""
    return upsert(
        connection, shop_order(external_id, invoiced_on=berlin_today() - timedelta(days=days), **kwargs)
    )


def other_buyer_order(connection: ShopConnection, external_id: str, total: str) -> Receivable:
    order = shop_order(
        external_id, invoiced_on=berlin_today() - timedelta(days=30), total=total, email="jonas@example.org"
    )
    order = dataclasses.replace(
        order,
        buyer=Buyer(email="jonas@example.org", first_name="Jonas", last_name="Becker"),
        billing_address=Address(
            first_name="Jonas",
            last_name="Becker",
            street="Lindenweg",
            house_number="3",
            postal_code="10115",
            city="Berlin",
            country="DE",
        ),
    )
    return upsert(connection, order)


def matches() -> list[PaymentMatch]:
    return list(db.session.scalars(sa.select(PaymentMatch).order_by(PaymentMatch.id)))


class TestPaymentReference:
    def test_every_receivable_gets_a_reference_shown_by_the_api(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        receivable = overdue_order(make_connection(merchant), "1001")

        assert receivable.payment_reference is not None
        assert receivable.payment_reference.startswith("CB-")
        body = client.get(f"/api/v1/receivables/{receivable.id}", headers=auth_headers(merchant)).get_json()
        assert body["payment_reference"] == receivable.payment_reference
        listed = client.get("/api/v1/receivables", headers=auth_headers(merchant)).get_json()
        assert listed["items"][0]["payment_reference"] == receivable.payment_reference


class TestOpenReceivables:
    def test_the_matcher_knows_the_buyers_and_the_billing_addresss_names(self, merchant: Merchant) -> None:
        connection = make_connection(merchant)
        upsert(
            connection, shop_order("1001", first_name="Erika", last_name="Mustermann", company="Muster GmbH")
        )
        upsert(connection, shop_order("1002", first_name="Max", last_name="Mustermann"))

        names = [receivable.debtor_names for receivable in services._open_receivables(merchant.id)]

        assert names == [("Erika Mustermann", "Muster GmbH"), ("Max Mustermann",)]


class TestStatementImport:
    def test_reference_settles_automatically_and_dunning_stops(
        self, client: Any, merchant: Merchant, auth_headers: Any, smtp_server: Any
    ) -> None:
        set_payment_details(merchant)
        receivable = overdue_order(make_connection(merchant), "1001")
        queue_due_notices()
        [queued] = db.session.scalars(sa.select(DunningNotice)).all()
        assert queued.status == "queued"
        statement = camt(
            transfer(
                "1190.00",
                name="MUSTERMANN ERIKA",
                remittance=f"Rechnung {receivable.payment_reference.lower()} danke",
                reference="BANKREF-1",
            )
        )

        response = upload(client, auth_headers(merchant, UPLOAD), statement)

        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {
            "new": 1,
            "already_known": 0,
            "applied": 1,
            "review": 0,
            "unmatched": 0,
            "not_incoming": 0,
        }
        db.session.refresh(receivable)
        assert (receivable.state, receivable.paid_amount, receivable.balance) == (
            "paid",
            Decimal("1190.00"),
            Decimal("0.00"),
        )
        [match] = matches()
        assert (match.status, match.rule, match.decided_by) == (
            "auto_applied",
            "reference",
            "payment-matching",
        )
        event = db.session.scalar(
            sa.select(ReceivableEvent).filter_by(receivable_id=receivable.id, kind="payment")
        )
        assert (event.amount, event.booked_on, event.source) == (
            Decimal("1190.00"),
            berlin_today(),
            "bank_statement",
        )
        assert event.external_id == f"payment_match:{match.id}"
        assert [(b.kind.value, b.booked_on, b.amount) for b in payment_bookings(receivable)] == [
            ("payment", berlin_today(), Decimal("1190.00"))
        ]
        audit = db.session.scalar(sa.select(AuditEvent).filter_by(action="payment_match.applied"))
        assert audit.details["rule"] == "reference"

        assert send_queued_notices() == "1 cancelled"
        assert smtp_server.messages == []
        db.session.refresh(queued)
        assert queued.status == "cancelled"
        assert queue_due_notices(berlin_today() + timedelta(days=30)).startswith("0 ")

    def test_name_and_amount_only_settle_the_right_invoice_or_wait_for_review(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        connection = make_connection(merchant)
        erika = overdue_order(connection, "1001", total="89.90")
        other_buyer_order(connection, "1002", "89.90")
        overdue_order(connection, "1003", total="45.00")

        body = upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("89.90", name="Erika Mustermann", remittance="Vielen Dank")),
        ).get_json()

        assert body["new"] == 1
        [match] = matches()
        assert match.receivable_id == erika.id
        assert match.rule == "amount_name"
        assert (body["applied"], body["review"]) in ((1, 0), (0, 1))
        assert match.status == ("auto_applied" if body["applied"] else "review")

    def test_reimport_changes_nothing(self, client: Any, merchant: Merchant, auth_headers: Any) -> None:
        receivable = overdue_order(make_connection(merchant), "1001")
        statement = camt(
            transfer("500.00", name="Erika Mustermann", remittance=receivable.payment_reference),
            transfer("12.00", name="Unbekannt GmbH", remittance="Gutschrift", iban=OTHER_IBAN),
        )
        headers = auth_headers(merchant, UPLOAD)
        first = upload(client, headers, statement).get_json()
        events = db.session.scalar(sa.select(sa.func.count()).select_from(ReceivableEvent))

        second = upload(client, headers, statement).get_json()

        assert (first["new"], first["applied"], first["unmatched"]) == (2, 1, 1)
        assert second == {
            "new": 0,
            "already_known": 2,
            "applied": 0,
            "review": 0,
            "unmatched": 0,
            "not_incoming": 0,
        }
        db.session.refresh(receivable)
        assert (receivable.state, receivable.paid_amount) == ("partially_paid", Decimal("500.00"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReceivableEvent)) == events
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BankTransactionRecord)) == 2

    def test_batches_keep_order_and_an_overlapping_statement_adds_only_its_new_transfers(
        self, client: Any, merchant: Merchant, auth_headers: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(services, "INSERT_BATCH", 2)
        monkeypatch.setattr(services, "STORE_BATCH", 2)
        read_in = set()
        read = services.PaymentMatcher.read

        def reading(matcher: Any, position: int, transaction: Any) -> Any:
            read_in.add(threading.current_thread().name)
            return read(matcher, position, transaction)

        monkeypatch.setattr(services.PaymentMatcher, "read", reading)
        receivable = overdue_order(make_connection(merchant), "1001")  # 1190.00
        reference = receivable.payment_reference
        first_part = transfer("300.00", name="Erika Mustermann", remittance=reference, reference="R1")
        credit = transfer(
            "12.00", name="Unbekannt GmbH", remittance="Gutschrift", reference="R2", iban=OTHER_IBAN
        )
        second_part = transfer("300.00", name="Erika Mustermann", remittance=reference, reference="R3")
        rest = transfer("590.00", name="Erika Mustermann", remittance=reference, reference="R5")
        headers = auth_headers(merchant, UPLOAD)

        # The receivable is named in the first and in the second batch of 2 transfers.
        first = upload(client, headers, camt(first_part, credit, second_part)).get_json()
        db.session.refresh(receivable)
        paid_after_first = (receivable.state, receivable.paid_amount)
        # The next day's statement repeats those three: only the fourth is new.
        second = upload(client, headers, camt(first_part, credit, second_part, rest)).get_json()
        again = upload(client, headers, camt(first_part, credit, second_part, rest)).get_json()

        assert (first["new"], first["applied"], first["unmatched"]) == (3, 2, 1)
        assert paid_after_first == ("partially_paid", Decimal("600.00"))
        assert (second["new"], second["already_known"], second["applied"]) == (1, 3, 1)
        assert (again["new"], again["already_known"], again["applied"]) == (0, 4, 0)
        db.session.refresh(receivable)
        assert (receivable.state, receivable.paid_amount) == ("paid", Decimal("1190.00"))
        assert [(m.amount, m.status) for m in matches()] == [
            (Decimal("300.00"), "auto_applied"),
            (Decimal("300.00"), "auto_applied"),
            (Decimal("590.00"), "auto_applied"),
        ]
        payments = db.session.scalars(
            sa.select(ReceivableEvent.amount)
            .where(ReceivableEvent.receivable_id == receivable.id, ReceivableEvent.kind == "payment")
            .order_by(ReceivableEvent.id)
        )
        assert list(payments) == [Decimal("300.00"), Decimal("300.00"), Decimal("590.00")]
        # PostgreSQL reads a batch's transfers in a thread while it stores the next; SQLite in the caller.
        if db.session.get_bind().dialect.name == "postgresql":
            assert {name.split("_")[0] for name in read_in} == {"statement-reading"}
        else:
            assert read_in == {threading.current_thread().name}

    def test_debits_are_not_considered(self, client: Any, merchant: Merchant, auth_headers: Any) -> None:
        receivable = overdue_order(make_connection(merchant), "1001")
        debit = dataclasses.replace(
            transfer("1190.00", name="Erika Mustermann", remittance=receivable.payment_reference),
            credit=False,
        )

        body = upload(client, auth_headers(merchant, UPLOAD), camt(debit)).get_json()

        assert (body["new"], body["not_incoming"]) == (0, 1)
        assert db.session.get(Receivable, receivable.id).paid_amount == Decimal("0.00")

    def test_cli_imports_mt940_once(self, app: Any, merchant: Merchant, tmp_path: Any) -> None:
        receivable = overdue_order(make_connection(merchant), "1001")
        out = io.StringIO()
        write_mt940(
            [transfer("1190.00", name="Erika Mustermann", remittance=receivable.payment_reference)], out
        )
        path = tmp_path / "statement.sta"
        path.write_text(out.getvalue())
        runner = CliRunner()

        def run() -> tuple[dict[str, int], str]:
            result = runner.invoke(
                main,
                ["statements", "import", str(path), "--merchant", str(merchant.id)],
                obj=ScriptInfo(create_app=lambda: app),
                catch_exceptions=False,
            )
            assert result.exit_code == 0, result.output
            return json.loads(result.stdout), result.stderr

        first, progress = run()
        assert first["applied"] == 1
        # Progress goes to stderr, so stdout stays JSON.
        assert "Reading" in progress and "matched and stored 1 of 1 new transfers" in progress
        assert run()[0]["already_known"] == 1
        assert db.session.get(Receivable, receivable.id).state == "paid"

    def test_cli_refuses_a_merchant_that_does_not_exist(self, app: Any, tmp_path: Any) -> None:
        out = io.StringIO()
        write_mt940([transfer("1190.00", name="Erika Mustermann", remittance="RE-1")], out)
        path = tmp_path / "statement.sta"
        path.write_text(out.getvalue())

        result = CliRunner().invoke(
            main,
            ["statements", "import", str(path), "--merchant", "999"],
            obj=ScriptInfo(create_app=lambda: app),
        )

        assert result.exit_code == 1
        assert "merchant 999 does not exist" in result.stderr
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BankTransactionRecord)) == 0

    def test_cli_progress_moves_in_this_process_only(self, tmp_path: Any) -> None:
        """The child parsing the file reads it without the progress bar; its position moves the bar here."""
        out = io.StringIO()
        write_camt053(
            [transfer(f"{n}.00", name="Erika Mustermann", remittance=f"R{n}") for n in range(1, 40)], out
        )
        path = tmp_path / "statement.xml"
        path.write_text(out.getvalue())
        updates = tmp_path / "updates"

        def on_bytes(count: int) -> None:  # appends from any process: a child's calls would show
            with updates.open("a") as log:
                log.write(f"{os.getpid()} {count}\n")

        with path.open("rb") as stream:
            reading = _ReadProgress(stream, on_bytes)
            services.statement_digest(reading)
            parsed = list(reading.parse_apart(reading))

        assert len(parsed) == 39
        calls = [line.split() for line in updates.read_text().splitlines()]
        assert {pid for pid, _ in calls} == {str(os.getpid())}
        assert sum(int(count) for _, count in calls) == 2 * path.stat().st_size

    def test_malformed_file_is_422_with_location(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        broken = (
            b'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n<Stmt'
        )

        response = upload(client, auth_headers(merchant, UPLOAD), broken)

        assert response.status_code == 422
        body = response.get_json()
        assert body["details"]["location"].startswith("line ")
        assert "malformed XML" in body["message"]
        neither = upload(client, auth_headers(merchant, UPLOAD), b"hello")
        assert (neither.status_code, neither.get_json()["details"]["location"]) == (422, "line 1")

    def test_missing_file_field_is_422(self, client: Any, merchant: Merchant, auth_headers: Any) -> None:
        response = upload(client, auth_headers(merchant, UPLOAD), b"x", field="other")

        assert response.status_code == 422

    def test_oversized_upload_is_413_but_more_than_the_global_limit_passes(
        self, app: Any, client: Any, merchant: Merchant, auth_headers: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        headers = auth_headers(merchant, UPLOAD)
        receivable = overdue_order(make_connection(merchant), "1001")
        padding = b"<!--" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"-->\n"
        statement = camt(transfer("1.00", name="Erika Mustermann", remittance=receivable.payment_reference))
        large = statement.replace(b"<Document", padding + b"<Document", 1)

        assert upload(client, headers, large).get_json()["applied"] == 1

        monkeypatch.setattr(views.import_bank_statement, "max_body_bytes", len(large) - 1)
        assert upload(client, headers, large).status_code == 413

    def test_upload_needs_orders_write(self, client: Any, merchant: Merchant, auth_headers: Any) -> None:
        response = upload(client, auth_headers(merchant, "handovers:read"), camt())

        assert response.status_code == 403


class TestReview:
    def _review_match(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> tuple[Receivable, dict[str, Any]]:
        put = client.put(
            "/api/v1/payment-matching-settings",
            json={"auto_threshold": 1.0},
            headers=auth_headers(merchant, "settings:write"),
        )
        assert put.get_json() == {"auto_threshold": 1.0}
        receivable = overdue_order(make_connection(merchant), "1001")
        body = upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("1190.00", name="Erika Mustermann", remittance="Danke")),
        ).get_json()
        assert body["review"] == 1
        queue = client.get("/api/v1/payment-matches?status=review", headers=auth_headers(merchant, REVIEW))
        [item] = queue.get_json()
        assert item["receivable"]["id"] == receivable.id
        assert item["transaction"]["counterparty_name"] == "Erika Mustermann"
        return receivable, item

    def test_confirm_applies_and_learns_the_iban(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        receivable, item = self._review_match(client, merchant, auth_headers)
        assert db.session.get(Receivable, receivable.id).paid_amount == Decimal("0.00")

        response = client.post(
            f"/api/v1/payment-matches/{item['id']}/confirm",
            json={"by": "buchhaltung@shop.example"},
            headers=auth_headers(merchant, REVIEW),
        )

        assert response.status_code == 200
        assert response.get_json()["status"] == "confirmed"
        assert "buchhaltung@shop.example" in response.get_json()["decided_by"]
        db.session.refresh(receivable)
        assert receivable.state == "paid"
        assert db.session.scalar(sa.select(KnownPayerIban.iban)) == PAYER_IBAN
        again = client.post(
            f"/api/v1/payment-matches/{item['id']}/confirm",
            json={"by": "x"},
            headers=auth_headers(merchant, REVIEW),
        )
        assert again.status_code == 200
        assert db.session.get(Receivable, receivable.id).paid_amount == Decimal("1190.00")
        rejected = client.post(
            f"/api/v1/payment-matches/{item['id']}/reject",
            json={"by": "x"},
            headers=auth_headers(merchant, REVIEW),
        )
        assert rejected.status_code == 409

    def test_reject_leaves_the_receivable_open(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        receivable, item = self._review_match(client, merchant, auth_headers)

        response = client.post(
            f"/api/v1/payment-matches/{item['id']}/reject",
            json={"by": "chefin"},
            headers=auth_headers(merchant, REVIEW),
        )

        assert response.get_json()["status"] == "rejected"
        assert response.get_json()["transaction"]["status"] == "unmatched"
        db.session.refresh(receivable)
        assert (receivable.state, receivable.paid_amount) == ("open", Decimal("0.00"))

    def test_a_confirm_and_a_reject_sent_together_leave_one_decision(
        self, app: Any, client: Any, create_merchant: Any, auth_headers: Any
    ) -> None:
        # SQLite ignores FOR UPDATE: both requests read "review" and both went on, and a payment was booked on a
        # match left rejected, its transfer unmatched (free to be matched again).
        def decide(match_id: int, decision: str, start: threading.Barrier, answers: dict[str, int]) -> None:
            own = app.test_client()
            start.wait()
            answers[decision] = own.post(
                f"/api/v1/payment-matches/{match_id}/{decision}", json={"by": decision}, headers=headers
            ).status_code

        for attempt in range(6):
            merchant = create_merchant(f"Shop {attempt}")  # each round's transfer matches its own order only
            headers = auth_headers(merchant, REVIEW)
            receivable, item = self._review_match(client, merchant, auth_headers)
            start = threading.Barrier(2)
            answers: dict[str, int] = {}
            threads = [
                threading.Thread(target=decide, args=(item["id"], decision, start, answers))
                for decision in ("confirm", "reject")
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

            db.session.expire_all()
            match = db.session.get(PaymentMatch, item["id"])
            transfer = db.session.get(BankTransactionRecord, match.transaction_id)
            paid = db.session.get(Receivable, receivable.id).paid_amount
            won = {"confirmed": "confirm", "rejected": "reject"}[match.status]
            assert answers == {won: 200, ({"confirm", "reject"} - {won}).pop(): 409}
            assert (paid, transfer.status) == (
                (Decimal("1190.00"), "matched") if won == "confirm" else (Decimal("0.00"), "unmatched")
            )


class TestIsolation:
    def test_merchants_never_see_or_settle_each_other(
        self, client: Any, merchant: Merchant, create_merchant: Any, auth_headers: Any
    ) -> None:
        other = create_merchant("Anderer Shop")
        theirs = overdue_order(make_connection(other), "1001")
        ours = overdue_order(make_connection(merchant), "1001")
        assert theirs.payment_reference != ours.payment_reference or theirs.id == ours.id

        body = upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("1190.00", name="Hans Meier", remittance=theirs.payment_reference, iban="")),
        ).get_json()

        assert body["applied"] == 0
        assert db.session.get(Receivable, theirs.id).paid_amount == Decimal("0.00")
        for match in matches():
            assert match.receivable_id != theirs.id
        assert client.get("/api/v1/payment-matches", headers=auth_headers(other, REVIEW)).get_json() == []
        for match in matches():
            response = client.post(
                f"/api/v1/payment-matches/{match.id}/confirm",
                json={"by": "x"},
                headers=auth_headers(other, REVIEW),
            )
            assert response.status_code == 404

    def test_a_transfer_another_merchant_stored_is_new_for_this_one(
        self, client: Any, merchant: Merchant, create_merchant: Any, auth_headers: Any
    ) -> None:
        other = create_merchant("Anderer Shop")
        ours = overdue_order(make_connection(merchant), "1001")
        data = camt(transfer("1190.00", name="Erika Mustermann", remittance=ours.payment_reference))
        theirs = upload(client, auth_headers(other, UPLOAD), data).get_json()

        body = upload(client, auth_headers(merchant, UPLOAD), data).get_json()

        assert (theirs["new"], theirs["applied"]) == (1, 0)
        assert (body["new"], body["already_known"], body["applied"]) == (1, 0, 1)
        assert db.session.get(Receivable, ours.id).state == "paid"
        stored = db.session.scalars(sa.select(BankTransactionRecord.merchant_id)).all()
        assert sorted(stored) == sorted([other.id, merchant.id])

    def test_a_transfer_stored_between_the_lookup_and_the_insert_counts_as_known(
        self, merchant: Merchant, monkeypatch: Any
    ) -> None:
        # As an import of the same statement committing meanwhile does on SQLite, which has no row locks.
        ours = overdue_order(make_connection(merchant), "1001")
        data = camt(transfer("1190.00", name="Erika Mustermann", remittance=ours.payment_reference))
        real_reserve = services.reserve_ids

        def reserve_after_another_import(table: Any, count: int) -> Any:
            monkeypatch.setattr(services, "reserve_ids", real_reserve)
            (transaction,) = services.parse_statement_file(data)
            db.session.execute(
                sa.insert(BankTransactionRecord),
                [services._record_row(merchant.id, transaction, "other", services.utcnow())],
            )
            return real_reserve(table, count)

        monkeypatch.setattr(services, "reserve_ids", reserve_after_another_import)
        result = services.import_statement(merchant.id, data, actor="main")

        assert (result.new, result.already_known, result.applied) == (0, 1, 0)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BankTransactionRecord)) == 1
        assert db.session.get(Receivable, ours.id).state != "paid"


class TestEffects:
    def test_shopware_order_shows_paid(
        self, client: Any, merchant: Merchant, auth_headers: Any, shopware: Any
    ) -> None:
        fake, server = shopware
        connection = make_connection(
            merchant, "shopware", server.url, api_key=fake.client_id, secret_key=fake.client_secret
        )
        order_id = fake.add_order(total="119.00")
        receivable = overdue_receivable(connection, order_id, total="119.00")

        upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("119.00", name="Anna Schmidt", remittance=f"{receivable.payment_reference} danke")),
        )
        assert process_shop_updates() == "2 done"  # the payment state and the note

        assert fake.payment_state(order_id) == "paid"
        assert receivable.payment_reference in fake.order(order_id)["customFields"]["claimbridge_notes"]
        assert process_shop_updates() == "nothing to write"

    def test_woocommerce_partial_payment_then_full(
        self, client: Any, merchant: Merchant, auth_headers: Any, woocommerce: Any
    ) -> None:
        shop, server = woocommerce
        connection = make_connection(
            merchant,
            "woocommerce",
            server.url,
            consumer_key=shop.consumer_key,
            consumer_secret=shop.consumer_secret,
        )
        order_id = shop.add_order(total="119.00")
        receivable = overdue_receivable(connection, str(order_id), total="119.00")
        headers = auth_headers(merchant, UPLOAD)

        upload(
            client,
            headers,
            camt(transfer("50.00", name="Anna Schmidt", remittance=receivable.payment_reference)),
        )
        process_shop_updates()
        assert shop.case_fields(order_id)["claimbridge_paid_amount"] == "50.00"
        assert shop.order(order_id)["status"] == "on-hold"

        upload(
            client,
            headers,
            camt(transfer("69.00", name="Anna Schmidt", remittance=receivable.payment_reference)),
        )
        process_shop_updates()
        assert shop.order(order_id)["status"] == "processing"
        assert len(shop.notes[order_id]) == 2

    def test_pending_handover_is_withdrawn_when_paid(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        set_rules(merchant)
        receivable = overdue_receivable(make_connection(merchant), "o-1")
        propose_handovers()
        handover = db.session.scalar(sa.select(Handover))
        assert handover.status == "proposed"

        upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("119.00", name="Anna Schmidt", remittance=receivable.payment_reference)),
        )

        db.session.refresh(handover)
        assert (handover.status, handover.decided_by) == ("withdrawn", "payment-matching")

    def test_payment_in_collection_is_reported_to_the_agency_as_direct_payment(
        self, client: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        set_rules(merchant, auto_approve_consumer_up_to=Decimal("1000.00"))
        receivable = overdue_receivable(make_connection(merchant), "o-1")
        propose_handovers()
        submit_approved_handovers()
        db.session.refresh(receivable)
        assert receivable.state == "in_collection"

        upload(
            client,
            auth_headers(merchant, UPLOAD),
            camt(transfer("20.00", name="Anna Schmidt", remittance=receivable.payment_reference)),
        )
        db.session.refresh(receivable)
        assert (receivable.state, receivable.paid_amount) == ("in_collection", Decimal("20.00"))
        poll_submitted_handovers()

        (payment,) = db.session.scalars(sa.select(AgencyCasePayment)).all()
        assert (payment.source, payment.amount) == ("direct", Decimal("20.00"))


class TestSameFileAgain:
    def test_is_answered_from_its_digest_and_changes_nothing(
        self, client: Any, db: Any, merchant: Merchant, auth_headers: Any
    ) -> None:
        receivable = overdue_order(make_connection(merchant), "1001")
        data = camt(transfer("1190.00", name="Erika Mustermann", remittance=receivable.payment_reference))
        headers = auth_headers(merchant, UPLOAD)
        response = upload(client, headers, data)
        assert response.status_code == 200, response.get_json()
        first = response.get_json()
        again = upload(client, headers, data).get_json()
        assert (first["new"], first["applied"]) == (1, 1)
        assert again == {**first, "new": 0, "already_known": 1, "applied": 0}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedStatement)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentMatch)) == 1
        # Another file with the same transfer is read and finds it known.
        other = upload(client, headers, data + b"\n").get_json()
        assert (other["new"], other["already_known"]) == (0, 1)


class TestStatistics:
    def test_the_stored_transfers_statistics_are_kept_as_each_batch_grows_them(
        self, client: Any, merchant: Merchant, auth_headers: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without statistics PostgreSQL read all of a merchant's transfers to look up each batch's."""
        kept = []
        monkeypatch.setattr(services, "INSERT_BATCH", 2)
        monkeypatch.setattr(
            services,
            "keep_statistics",
            lambda table, columns, *, added: kept.append((table.name, columns, added)),
        )
        receivable = overdue_order(make_connection(merchant), "1001")
        reference = receivable.payment_reference
        statement = camt(
            *(
                transfer("100.00", name="Erika Mustermann", remittance=reference, reference=f"R{number}")
                for number in range(3)
            )
        )
        headers = auth_headers(merchant, UPLOAD)

        first = upload(client, headers, statement).get_json()
        again = upload(client, headers, statement + b"\n").get_json()  # another file: every transfer is known

        assert (first["new"], again["already_known"]) == (3, 3)
        key = ("merchant_id", "transaction_id")
        assert kept == [("bank_transactions", key, 2), ("bank_transactions", key, 3)]


class TestMadeAhead:
    def test_yields_every_batch_in_order_each_made_in_another_thread(self) -> None:
        made_in = []

        def batches() -> Any:
            for number in range(5):
                made_in.append(threading.get_ident())
                yield [number]

        assert list(services._made_ahead(batches())) == [[0], [1], [2], [3], [4]]
        assert threading.get_ident() not in made_in

    def test_an_error_making_a_batch_reaches_the_caller_after_the_batches_before(self) -> None:
        def batches() -> Any:
            yield [1]
            raise ValueError("matching failed")

        received = []
        with pytest.raises(ValueError, match="matching failed"):
            for batch in services._made_ahead(batches()):
                received.append(batch)
        assert received == [[1]]
