"""Console pages over WSGI: scoped to the session's merchant, posts only with the session, user recorded."""

from __future__ import annotations

import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from markupsafe import escape
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.audit.models import AuditEvent
from backend.audit.services import record_event
from backend.console import views
from backend.console.forms import policy_fields
from backend.console.texts import TEXTS
from backend.dunning.claims import DebtorKind, NoticeKind
from backend.dunning.merchant_settings import (
    get_claim_settings,
    get_dunning_settings,
    get_schedules,
    replace_schedules,
    schedules_document,
)
from backend.extensions import db, utcnow
from backend.handovers.models import Handover, ShopUpdate
from backend.handovers.rules import rules_document
from backend.merchants.models import Merchant
from backend.merchants.policy_store import policy_document
from backend.payments.models import BankTransactionRecord
from backend.receivables.models import Receivable
from backend.receivables.services import dispute_receivable
from backend.risk.messages import advice_for
from backend.woocommerce.models import WebhookTopic
from tests.dunning.conftest import smtp_server
from tests.dunning.factories import set_payment_details
from tests.factories import make_connection, make_receivable, overdue_receivable
from tests.handovers.conftest import set_rules
from tests.payments.test_import import camt, overdue_order, transfer
from tests.risk.conftest import CLEAN_PAYLOAD

__all__ = ["smtp_server"]


def page(client, token, path, **params):
    return client.get(path, query_string={"session_token": token, **params})


class TestHandoversPages:
    def test_another_merchants_handover_is_not_found(self, client, create_merchant, propose, console_token):
        mine, other = create_merchant("Mein Shop"), create_merchant("Anderer Shop")
        theirs = propose(make_connection(other), "their-order")
        token = console_token(mine)
        assert page(client, token, f"/console/handovers/{theirs.id}").status_code == 404
        listing = page(client, token, "/console/handovers").get_data(as_text=True)
        assert theirs.receivable.number not in listing
        answer = client.post(
            "/console/handovers/decide",
            data={"session_token": token, "decision": "approve", "ids": [str(theirs.id)]},
        )
        assert answer.status_code == 404
        assert db.session.get(Handover, theirs.id).status == "proposed"

    def test_posts_without_the_session_change_nothing(self, client, merchant, shop, propose):
        handover = propose(shop, "order-1")
        for data in ({}, {"session_token": "forged"}):
            answer = client.post(
                f"/console/handovers/{handover.id}/decide", data={"decision": "approve", **data}
            )
            assert answer.status_code == 401
        db.session.expire_all()
        assert db.session.get(Handover, handover.id).status == "proposed"

    def test_a_decision_records_the_user_in_the_audit_log(
        self, client, merchant, shop, propose, console_token
    ):
        handover = propose(shop, "order-1")
        answer = client.post(
            f"/console/handovers/{handover.id}/decide",
            data={"session_token": console_token(merchant, user="Dora Decide"), "decision": "approve"},
        )
        assert answer.status_code == 303
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "handover.approved"))
        assert event.actor == "Dora Decide (console, console link)"
        assert event.merchant_id == merchant.id

    def test_bulk_reject_needs_a_reason(self, client, merchant, shop, propose, console_token):
        handover = propose(shop, "order-1")
        data = {"session_token": console_token(merchant), "decision": "reject", "ids": [str(handover.id)]}
        answer = client.post("/console/handovers/decide", data=data)
        assert answer.status_code == 422
        assert "Give a reason for rejecting." in answer.get_data(as_text=True)
        answer = client.post("/console/handovers/decide", data={**data, "reason": "paid in cash"})
        assert answer.status_code == 303
        db.session.expire_all()
        assert db.session.get(Handover, handover.id).decision_note == "paid in cash"

    def test_a_decision_in_the_wrong_state_is_shown_not_raised(
        self, client, merchant, shop, propose, console_token
    ):
        handover = propose(shop, "order-1")
        token = console_token(merchant)
        client.post(
            f"/console/handovers/{handover.id}/decide", data={"session_token": token, "decision": "approve"}
        )
        answer = client.post(
            f"/console/handovers/{handover.id}/decide",
            data={"session_token": token, "decision": "reject", "reason": "too late"},
        )
        assert answer.status_code == 409
        assert 'role="alert"' in answer.get_data(as_text=True)

    def test_bad_filters_fall_back_to_the_whole_list(self, client, merchant, shop, propose, console_token):
        propose(shop, "order-1")
        answer = page(client, console_token(merchant), "/console/handovers", status="nonsense", page="-3")
        assert answer.status_code == 200
        assert "RE-order-1" in answer.get_data(as_text=True)


class TestSettingsPages:
    def save(self, client, token, section, **form):
        return client.post(f"/console/settings/{section}", data={"session_token": token, **form})

    def policy_form(self, merchant_id, **changes):
        form = {}
        for field in policy_fields(policy_document(merchant_id)):
            if field.kind == "bool":
                if field.value:
                    form[field.pointer] = "1"
            elif field.kind == "lines":
                form[field.pointer] = "\n".join(field.value)
            else:
                form[field.pointer] = "" if field.value is None else str(field.value)
        return {**form, **changes}

    def test_every_policy_field_round_trips_unchanged(self, client, merchant, console_token):
        before = policy_document(merchant.id)
        answer = self.save(client, console_token(merchant), "policy", **self.policy_form(merchant.id))
        assert answer.status_code == 303, answer.get_data(as_text=True)
        assert policy_document(merchant.id) == before

    def test_a_policy_change_is_stored_and_audited_with_the_user(self, client, merchant, console_token):
        form = self.policy_form(merchant.id, **{"/decline_at": "80", "/weights/EMAIL_DISPOSABLE": "50"})
        assert (
            self.save(client, console_token(merchant, user="Pia Policy"), "policy", **form).status_code == 303
        )
        stored = policy_document(merchant.id)
        assert (stored["decline_at"], stored["weights"]["EMAIL_DISPOSABLE"]) == (80, 50)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy.updated"))
        assert event.actor.startswith("Pia Policy")

    def test_the_buyer_message_is_edited_per_language_on_the_policy_form(
        self, client, merchant, console_token
    ):
        token = console_token(merchant)
        page = client.get("/console/settings", query_string={"session_token": token}).get_data(as_text=True)
        assert 'name="/buyer_message/de"' in page and 'name="/buyer_message/en"' in page
        form = self.policy_form(
            merchant.id, **{"/buyer_message/de": "Bitte wählen Sie eine andere Zahlungsart."}
        )
        assert self.save(client, token, "policy", **form).status_code == 303
        assert policy_document(merchant.id)["buyer_message"] == {
            "de": "Bitte wählen Sie eine andere Zahlungsart.",
            "en": "",
        }

    def test_an_invalid_policy_field_is_shown_beside_it_and_nothing_is_stored(
        self, client, merchant, console_token
    ):
        form = self.policy_form(merchant.id, **{"/review_at": "90", "/decline_at": "70"})
        answer = self.save(client, console_token(merchant), "policy", **form)
        assert answer.status_code == 422
        html = answer.get_data(as_text=True)
        assert 'id="f-review-at-error">must not be greater than decline_at' in html
        assert policy_document(merchant.id)["review_at"] == 40

    def test_an_amount_too_large_for_a_money_column_is_refused_and_nothing_is_stored(
        self, client, merchant, console_token
    ):
        form = self.policy_form(merchant.id, **{"/max_order_amount": "1E+28"})
        answer = self.save(client, console_token(merchant), "policy", **form)
        assert answer.status_code == 422
        assert 'id="f-max-order-amount-error">must be between 0 and 999999999999.99' in answer.get_data(
            as_text=True
        )
        assert policy_document(merchant.id)["max_order_amount"] == "1500.00"
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy.updated")) is None

    def test_a_check_validates_without_storing(self, client, merchant, console_token):
        token = console_token(merchant)
        good = client.post(
            "/console/settings/policy/check", data={"session_token": token, **self.policy_form(merchant.id)}
        )
        assert good.status_code == 200 and "field-error" not in good.get_data(as_text=True)
        form = self.policy_form(merchant.id, **{"/decline_at": "55"})
        checked = client.post("/console/settings/policy/check", data={"session_token": token, **form})
        assert checked.status_code == 200
        assert policy_document(merchant.id)["decline_at"] == 70
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "policy.updated")
            )
            == 0
        )

    def schedule_form(self, merchant_id, **changes):
        form = {}
        for kind, schedule in schedules_document(get_schedules(merchant_id)).items():
            form[f"/{kind}/handover_after_days"] = str(schedule["handover_after_days"])
            for index, stage in enumerate(schedule["stages"]):
                for name in ("offset_days", "fee", "payment_deadline_days", "channel"):
                    form[f"/{kind}/stages/{index}/{name}"] = str(stage[name])
        return {**form, **changes}

    def test_a_fee_above_the_legal_limit_is_refused(self, client, merchant, console_token):
        form = self.schedule_form(merchant.id)
        form["/business/stages/2/channel"] = "letter"
        form["/business/stages/2/fee"] = "5,00"
        answer = self.save(client, console_token(merchant), "dunning", **form)
        assert answer.status_code == 422
        # A letter may charge its actual cost, by default at most €1.00 (issue 17).
        assert "must be at most 1.00 for a notice by letter" in answer.get_data(as_text=True)
        form["/business/stages/2/fee"] = "0,90"
        assert self.save(client, console_token(merchant), "dunning", **form).status_code == 303
        assert get_schedules(merchant.id)[DebtorKind.BUSINESS].stage(NoticeKind.FINAL_NOTICE).fee == Decimal(
            "0.90"
        )

    def test_saving_keeps_what_the_form_does_not_show(self, client, merchant, console_token):
        document = schedules_document(get_schedules(merchant.id))
        for schedule in document.values():
            schedule.update(grace_banking_days=3, letter_cost="2.40")
        replace_schedules(merchant.id, document, actor="api")
        db.session.commit()
        form = self.schedule_form(merchant.id, **{"/consumer/handover_after_days": "5"})
        assert self.save(client, console_token(merchant), "dunning", **form).status_code == 303
        db.session.expire_all()
        schedules = get_schedules(merchant.id)
        assert schedules[DebtorKind.CONSUMER].handover_after_days == 5
        assert {(s.grace_banking_days, s.letter_cost) for s in schedules.values()} == {(3, Decimal("2.40"))}

    def test_more_days_than_ten_years_are_refused_and_nothing_is_stored(
        self, client, merchant, console_token
    ):
        form = self.schedule_form(
            merchant.id,
            **{"/consumer/handover_after_days": str(2**63), "/business/stages/2/offset_days": str(2**31)},
        )
        answer = self.save(client, console_token(merchant), "dunning", **form)
        assert answer.status_code == 422
        html = answer.get_data(as_text=True)
        assert f"must be at most 3650, not {2**63}" in html and f"must be at most 3650, not {2**31}" in html
        assert not AuditEvent.query.filter_by(action="dunning_schedule.replaced").count()
        schedules = get_schedules(merchant.id)
        assert schedules[DebtorKind.CONSUMER].handover_after_days == 3
        assert schedules[DebtorKind.BUSINESS].stage(NoticeKind.FINAL_NOTICE).offset_days == 28

    def test_creditor_data_go_to_the_notices_and_the_handover_rules(self, client, merchant, console_token):
        answer = self.save(
            client,
            console_token(merchant),
            "creditor",
            account_holder="Beispiel Shop GmbH",
            iban="DE89 3704 0044 0532 0130 00",
            bic="",
            **{
                "creditor_address/street": "Hafenstraße",
                "creditor_address/house_number": "5",
                "creditor_address/postal_code": "20457",
                "creditor_address/city": "Hamburg",
                "creditor_address/country": "de",
            },
            notice_language="de",
            reply_to="buchhaltung@shop.example",
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)
        settings = get_dunning_settings(db.session.get(Merchant, merchant.id))
        assert (settings.iban, settings.bic, settings.reply_to) == (
            "DE89370400440532013000",
            "COBADEFFXXX",
            "buchhaltung@shop.example",
        )
        assert rules_document(merchant.id)["creditor_address"]["city"] == "Hamburg"

    def test_payment_term_and_claim_facts_are_stored_and_decide_the_due_date(
        self, client, merchant, console_token, auth_headers
    ):
        answer = self.save(
            client,
            console_token(merchant),
            "claims",
            payment_terms_days="30",
            due_date_from="shipment",
            land="BY",
            sells_to_businesses_only="1",
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)
        stored = client.get(
            "/api/v1/claim-settings", headers=auth_headers(merchant, ["settings:write"])
        ).get_json()
        assert stored == {
            "payment_terms_days": 30,
            "due_date_from": "shipment",
            "land": "BY",
            "sells_to_businesses_only": True,
            "invoices_carry_default_notice": False,
        }
        shown = client.get(
            "/api/v1/checkout-settings", headers=auth_headers(merchant, ["risk:check"])
        ).get_json()
        assert shown["payment_terms_days"] == 30
        assert (
            AuditEvent.query.filter_by(merchant_id=merchant.id, action="claim_settings.updated").count() == 1
        )

    def test_a_payment_term_out_of_range_is_refused_and_nothing_is_stored(
        self, client, merchant, console_token
    ):
        for term in ("0", "366", "vierzehn", "9" * 40):
            answer = self.save(
                client,
                console_token(merchant),
                "claims",
                payment_terms_days=term,
                due_date_from="invoice_date",
            )
            assert answer.status_code == 422, term
        assert get_claim_settings(db.session.get(Merchant, merchant.id)).payment_terms_days == 14

    def test_handover_rules_with_auto_approval(self, client, merchant, shop, propose, console_token):
        propose(shop, "order-1")  # gives the merchant a creditor address
        answer = self.save(
            client,
            console_token(merchant),
            "handover",
            minimum_amount="25,00",
            auto_approve_consumer_up_to="150",
            auto_approve_business_up_to="",
            agency="http",
            agency_base_url="",
        )
        assert answer.status_code == 422
        assert "Required for agency http." in answer.get_data(as_text=True)
        answer = self.save(
            client,
            console_token(merchant),
            "handover",
            minimum_amount="25.00",
            auto_approve_consumer_up_to="150",
            agency="builtin",
        )
        assert answer.status_code == 303
        rules = rules_document(merchant.id)
        assert (rules["minimum_amount"], rules["auto_approve_consumer_up_to"]) == (
            Decimal("25.00"),
            Decimal("150"),
        )

    def test_an_auto_approval_limit_beyond_cents_is_refused_in_german(
        self, client, merchant, shop, propose, console_token
    ):
        propose(shop, "order-1")  # gives the merchant a creditor address
        before = rules_document(merchant.id)
        answer = self.save(
            client,
            console_token(merchant, language="de"),
            "handover",
            minimum_amount="25.00",
            auto_approve_consumer_up_to="1e-999999999",
            agency="builtin",
        )
        assert answer.status_code == 422
        assert "kein Betrag in Cent bis höchstens 999999999999,99" in answer.get_data(as_text=True)
        assert rules_document(merchant.id) == before

    def test_a_test_notice_arrives_by_smtp(self, client, merchant, console_token, smtp_server):
        set_payment_details(merchant)
        answer = client.post(
            "/console/settings/test-notice",
            data={"session_token": console_token(merchant, language="de"), "to": "ich@shop.example"},
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)
        (mail,) = smtp_server.messages
        assert mail.rcpt_tos == ("ich@shop.example",)
        assert "[TEST]" in mail.message["Subject"]
        assert "Erika Mustermann (Test)" in mail.text
        assert "DE89 3704 0044 0532 0130 00" in mail.text

    def test_a_test_notice_without_mail_is_explained(self, client, merchant, console_token):
        set_payment_details(merchant)
        answer = client.post(
            "/console/settings/test-notice",
            data={"session_token": console_token(merchant), "to": "me@shop.example"},
        )
        assert answer.status_code == 503
        assert "No mail server" in answer.get_data(as_text=True)


class TestPaymentsPage:
    def _upload(self, client, token, statement: bytes):
        # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
        boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(statement), "statement.xml")})
        return client.post(
            "/console/payments/statements",
            query_string={"session_token": token},
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def test_the_upload_form_names_the_session_in_its_url(self, client, merchant, console_token):
        token = console_token(merchant)
        page = client.get("/console/payments", query_string={"session_token": token}).get_data(as_text=True)
        assert f'action="/console/payments/statements?session_token={token}"' in page

    @pytest.mark.parametrize("token", [None, "not-a-session"])
    def test_a_strangers_upload_is_refused_before_its_body_is_read(self, app, token):
        read: list[int] = []

        class Body(io.RawIOBase):
            def readable(self):
                return True

            def readinto(self, buffer):
                read.append(len(buffer))
                buffer[:1] = b"x"
                return 1

        # A WSGI call of its own: the test client would take the body's length from the stream, not the header.
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/console/payments/statements",
            "QUERY_STRING": f"session_token={token}" if token else "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": Body(),
            "wsgi.errors": io.StringIO(),
            "CONTENT_TYPE": "multipart/form-data; boundary=x",
            "CONTENT_LENGTH": str(views.STATEMENT_MAX_BYTES),
        }
        statuses: list[str] = []
        b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        assert statuses[0].split()[0] in ("401", "403")
        assert read == []

    @pytest.fixture
    def large_statement(self, app, merchant) -> bytes:
        """A statement paying one overdue order, padded past the global body limit as a busy month's is."""
        receivable = overdue_order(make_connection(merchant), "1001")
        padding = b"<!--" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"-->\n"
        statement = camt(transfer("1.00", name="Erika Mustermann", remittance=receivable.payment_reference))
        return statement.replace(b"<Document", padding + b"<Document", 1)

    def test_a_statement_above_the_global_limit_is_imported_as_over_the_api(
        self, client, merchant, console_token, large_statement
    ):
        response = self._upload(client, console_token(merchant), large_statement)
        assert response.status_code == 200
        assert len(db.session.scalars(sa.select(BankTransactionRecord)).all()) == 1

    def test_a_statement_above_its_own_limit_is_413_and_imports_nothing(
        self, client, merchant, console_token, large_statement, monkeypatch
    ):
        monkeypatch.setattr(views, "STATEMENT_MAX_BYTES", len(large_statement) - 1)
        response = self._upload(client, console_token(merchant), large_statement)
        assert response.status_code == 413
        assert response.get_json()["error"] == "request_entity_too_large"
        assert db.session.scalars(sa.select(BankTransactionRecord)).all() == []


class TestOtherPages:
    def test_receivable_actions_go_through_the_receivables_services(
        self, client, merchant, shop, propose, console_token
    ):
        receivable = overdue_receivable(shop, "order-9", days_ago=30)
        token = console_token(merchant, user="Rita Receivable")
        path = f"/console/receivables/{receivable.id}/act"
        assert client.post(path, data={"session_token": token, "action": "dispute"}).status_code == 422
        answer = client.post(path, data={"session_token": token, "action": "dispute", "text": "Ware defekt"})
        assert answer.status_code == 303
        db.session.expire_all()
        assert db.session.get(Receivable, receivable.id).state == "disputed"
        page = client.get(f"/console/receivables/{receivable.id}", query_string={"session_token": token})
        html = page.get_data(as_text=True)
        assert "Disputed" in html and "Rita Receivable" in html
        client.post(
            path, data={"session_token": token, "action": "resolve_dispute", "text": "Ersatz geliefert"}
        )
        client.post(path, data={"session_token": token, "action": "stop_dunning", "text": "Ratenzahlung"})
        db.session.expire_all()
        stored = db.session.get(Receivable, receivable.id)
        assert stored.state != "disputed" and stored.dunning_stop_reason == "Ratenzahlung"

    def test_an_orders_risk_decision_is_shown_only_to_its_merchant(
        self, client, create_merchant, auth_headers, console_token
    ):
        mine, other = create_merchant("Mein Shop"), create_merchant("Anderer Shop")
        checks = {}
        for merchant in (mine, other):
            answer = client.post(
                "/api/v1/risk-checks",
                json={**CLEAN_PAYLOAD, "buyer": {**CLEAN_PAYLOAD["buyer"], "email": "anna@mailinator.com"}},
                headers=auth_headers(merchant),
            )
            assert answer.status_code == 201
            checks[merchant.id] = answer.get_json()["id"]
        own = make_receivable(make_connection(mine), "o-1", risk_check_id=checks[mine.id])
        foreign = make_receivable(
            make_connection(mine, url="https://b.example"), "o-2", risk_check_id=checks[other.id]
        )
        imported = make_receivable(make_connection(mine, url="https://c.example"), "o-3")
        token = console_token(mine, language="de")

        html = page(client, token, f"/console/receivables/{own.id}").get_data(as_text=True)
        assert "Wegwerf-E-Mail-Adresse (mailinator.com)." in html
        assert escape(advice_for("EMAIL_DISPOSABLE", "de")) in html
        for receivable in (foreign, imported):
            html = page(client, token, f"/console/receivables/{receivable.id}").get_data(as_text=True)
            assert "Wegwerf-E-Mail-Adresse" not in html
            assert "keine Risikoprüfung gespeichert" in html

    def test_audit_shows_only_the_merchants_events(self, client, create_merchant, console_token):
        mine, other = create_merchant("Mein Shop"), create_merchant("Anderer Shop")
        record_event("policy.updated", actor="Mine", merchant_id=mine.id)
        record_event("policy.updated", actor="Theirs", merchant_id=other.id)
        db.session.commit()
        html = client.get("/console/audit", query_string={"session_token": console_token(mine)}).get_data(
            as_text=True
        )
        assert "Mine" in html and "Theirs" not in html


class TestOverview:
    def test_lists_what_needs_the_merchant_with_links(self, client, merchant, shop, propose, console_token):
        handover = propose(shop, "order-1")
        db.session.add(
            ShopUpdate(
                merchant_id=merchant.id,
                connection_id=shop.id,
                handover_id=handover.id,
                external_order_id="order-1",
                kind="note",
                idempotency_key="test-failing-update",
                attempts=12,
                last_error="shop answered 503",
                parked_at=utcnow(),
            )
        )
        db.session.commit()
        html = client.get("/console/", query_string={"session_token": console_token(merchant)}).get_data(
            as_text=True
        )
        assert "Handover proposals waiting for your decision: 1" in html
        assert "/console/handovers?status=proposed" in html
        assert "Your bank account for notices is missing" in html
        assert "shop answered 503" in html
        assert "https://shop.example" in html

    def parked(self, merchant, shop, order_id: str = "order-1", key: str = "parked-note") -> ShopUpdate:
        update = ShopUpdate(
            merchant_id=merchant.id,
            connection_id=shop.id,
            external_order_id=order_id,
            kind="note",
            payload={"text": "Fall übergeben"},
            idempotency_key=key,
            attempts=12,
            last_error="shop answered 503",
            parked_at=utcnow(),
        )
        db.session.add(update)
        db.session.commit()
        return update

    def test_a_parked_update_is_retried_from_the_overview_and_audited(
        self, client, merchant, shop, console_token
    ):
        update = self.parked(merchant, shop)
        token = console_token(merchant, user="Rita Retry", language="de")
        html = page(client, token, "/console/").get_data(as_text=True)
        assert "Geparkte Rückmeldungen an den Shop: 1" in html
        assert f"/console/shop-outbox/shop_updates/{update.id}/retry" in html

        answer = client.post(
            f"/console/shop-outbox/shop_updates/{update.id}/retry", data={"session_token": token}
        )
        assert answer.status_code == 303
        db.session.expire_all()
        retried = db.session.get(ShopUpdate, update.id)
        assert (retried.parked_at, retried.attempts) == (None, 0)
        [event] = db.session.scalars(sa.select(AuditEvent).filter_by(action="shop_outbox.retried")).all()
        assert (event.actor, event.merchant_id, event.target_id) == (
            "Rita Retry (console, console link)",
            merchant.id,
            str(update.id),
        )
        followed = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert "Die geparkte Rückmeldung wird erneut gesendet." in followed
        assert "Geparkte Rückmeldungen" not in followed

    def test_a_parked_update_is_discarded_and_a_second_post_finds_nothing(
        self, client, merchant, shop, console_token
    ):
        update = self.parked(merchant, shop)
        token = console_token(merchant, user="Dirk Discard")
        path = f"/console/shop-outbox/shop_updates/{update.id}/discard"
        answer = client.post(path, data={"session_token": token})
        assert answer.status_code == 303
        assert db.session.get(ShopUpdate, update.id) is None
        [event] = db.session.scalars(sa.select(AuditEvent).filter_by(action="shop_outbox.discarded")).all()
        assert event.actor.startswith("Dirk Discard") and event.details["last_error"] == "shop answered 503"
        assert "The parked update is discarded." in client.get(answer.headers["Location"]).get_data(
            as_text=True
        )
        assert client.post(path, data={"session_token": token}).status_code == 404

    def test_parked_updates_of_another_merchant_or_without_session_stay(
        self, client, merchant, shop, create_merchant, console_token
    ):
        update = self.parked(merchant, shop)
        other = create_merchant("Anderer Shop")
        for action in ("retry", "discard"):
            path = f"/console/shop-outbox/shop_updates/{update.id}/{action}"
            assert client.post(path, data={"session_token": console_token(other)}).status_code == 404
            assert client.post(path, data={}).status_code == 401
        db.session.expire_all()
        assert db.session.get(ShopUpdate, update.id).parked_at is not None
        assert not db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("shop_outbox.%"))
        ).all()

    def test_retrying_for_a_disabled_connection_says_why_and_keeps_it_parked(
        self, client, merchant, shop, console_token
    ):
        update = self.parked(merchant, shop)
        shop.status = "disabled"
        db.session.commit()
        answer = client.post(
            f"/console/shop-outbox/shop_updates/{update.id}/retry",
            data={"session_token": console_token(merchant)},
        )
        assert answer.status_code == 409
        assert "The shop connection is disabled" in answer.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(ShopUpdate, update.id).parked_at is not None

    def test_nothing_to_do_says_so(self, client, merchant, shop, console_token):
        set_payment_details(merchant)
        set_rules(merchant)
        html = client.get("/console/", query_string={"session_token": console_token(merchant)}).get_data(
            as_text=True
        )
        assert "All done: nothing is waiting for you." in html

    def test_webhook_health_and_connection_problems_in_the_users_language(
        self, client, merchant, console_token
    ):
        shop = make_connection(merchant, "woocommerce", "https://laden.example")
        now = utcnow()
        db.session.add_all(
            [
                WebhookTopic(
                    connection_id=shop.id,
                    topic="order.created",
                    webhook_id=11,
                    status_in_shop="active",
                    created_in_shop_at=now,
                    ping_received_at=now,
                    last_delivery_at=now,
                ),
                WebhookTopic(
                    connection_id=shop.id, topic="order.updated", webhook_id=12, status_in_shop="disabled"
                ),
            ]
        )
        db.session.commit()
        html = page(client, console_token(merchant, language="de"), "/console/").get_data(as_text=True)
        assert "Shop-Verbindungen, die nicht ganz funktionieren: 1" in html
        assert "#connections" in html
        assert (
            "WooCommerce hat Webhooks nach fehlgeschlagenen Zustellungen deaktiviert: Bestellung geändert."
            in html
        )
        assert (
            "Im Shop fehlen ClaimBridge-Webhooks für: Bestellung gelöscht, Bestellung wiederhergestellt."
            in html
        )
        assert "Das ClaimBridge-Plugin antwortet in diesem Shop nicht" in html
        assert "Deaktiviert" in html and "Bestellung angelegt" in html
        assert (
            "https://laden.example/wp-admin/admin.php?page=wc-settings&amp;tab=advanced&amp;section=webhooks"
            in html
        )
        assert "disabled the webhook" not in html and "has no ClaimBridge webhook" not in html


class _VisibleText(HTMLParser):
    """The text a reader sees (attribute values such as option values do not count)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_texts(texts, found=None) -> set[str]:
    """Every English console text of three words or more that German says differently."""
    found = set() if found is None else found
    for value in texts.values():
        if isinstance(value, dict):
            english_texts(value, found)
        elif isinstance(value, str) and len(value.split()) >= 3:
            found.add(value.split("{")[0].strip())
    return found - {""}


# What the areas' services say in English, raw codes, and English the console itself writes.
KNOWN_ENGLISH = (
    "must be",
    "Must be",
    "must not",
    "Not a valid",
    "for a notice by",
    "receivable is",
    "the final notice",
    "is not above the minimum",
    "Missing data",
    "time-barred",
    "Invalid checksum",
    "policy.updated",
    "handover.approved",
    "receivable.disputed",
    "shopware.app.installed",
    "hide_invoice",
    "allow_up_to",
    "shop_connection",
)


class TestGermanPages:
    """Every German page in German: texts from other areas, choices, audit actions and service messages."""

    def test_no_english_leaks_into_german_pages(self, client, merchant, shop, propose, console_token):
        handover = propose(shop, "order-1")
        dispute_receivable(merchant.id, handover.receivable_id, reason="Ware defekt", actor="test")
        for action in (
            "policy.updated",
            "handover.approved",
            "receivable.disputed",
            "shopware.app.installed",
        ):
            record_event(
                action, actor="Anna", merchant_id=merchant.id, target_type="shop_connection", target_id=1
            )
        db.session.commit()
        token = console_token(merchant, language="de")
        settings = TestSettingsPages()
        pages = {
            path: page(client, token, path).get_data(as_text=True)
            for path in (
                "/console/",
                "/console/handovers",
                f"/console/handovers/{handover.id}",
                "/console/receivables",
                f"/console/receivables/{handover.receivable_id}",
                "/console/payments",
                "/console/settings",
                "/console/audit",
            )
        }
        refused = {
            "policy": settings.policy_form(merchant.id, **{"/review_at": "90", "/decline_at": "70"}),
            "dunning": {"/consumer/stages/1/fee": "10.00", "/consumer/stages/1/channel": "email"},
            "creditor": {"iban": "DE89370400440532013001", "account_holder": "Shop GmbH"},
            "claims": {"payment_terms_days": "400", "due_date_from": "invoice_date"},
        }
        for section, form in refused.items():
            answer = settings.save(client, token, section, **form)
            assert answer.status_code == 422, section
            pages[f"/console/settings/{section} (refused)"] = answer.get_data(as_text=True)

        english = english_texts(TEXTS["en"]) - english_texts(TEXTS["de"])
        leaks = {
            path: sorted(text for text in (*english, *KNOWN_ENGLISH) if text in visible_text(html))
            for path, html in pages.items()
        }
        assert {path: found for path, found in leaks.items() if found} == {}
        # The page really showed what was checked: the blocker, the audit actions and the field problems.
        assert "die Forderung ist bestritten" in visible_text(pages[f"/console/handovers/{handover.id}"])
        assert "Risikoregeln geändert" in visible_text(pages["/console/audit"])
        assert "Übergabe: Freigegeben" in visible_text(pages["/console/audit"])
        refused_policy = visible_text(pages["/console/settings/policy (refused)"])
        assert "darf nicht über der Schwelle für „Ablehnen“ liegen" in refused_policy
        assert "Rechnung bis zum Betrag erlauben" in visible_text(pages["/console/settings"])
        assert "muss zwischen 1 und 365 liegen" in visible_text(pages["/console/settings/claims (refused)"])
        assert "die Prüfziffer der IBAN stimmt nicht" in visible_text(
            pages["/console/settings/creditor (refused)"]
        )

    def test_a_decision_that_came_too_late_is_explained_in_german(
        self, client, merchant, shop, propose, console_token
    ):
        handover = propose(shop, "order-1")
        token = console_token(merchant, language="de")
        path = f"/console/handovers/{handover.id}/decide"
        assert client.post(path, data={"session_token": token, "decision": "approve"}).status_code == 303
        late = client.post(path, data={"session_token": token, "decision": "reject", "reason": "zu spät"})
        assert late.status_code == 409
        text = visible_text(late.get_data(as_text=True))
        assert (
            "diese Übergabe steht schon auf „Freigegeben“ und kann nicht mehr auf „Abgelehnt“ gesetzt werden"
            in text
        )
        assert "cannot go from" not in text
