"""The invoice document with every case: the shop's invoice, else a claim statement, and the fallback."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from backend.audit.models import AuditEvent
from backend.cases.models import AgencyCase
from backend.extensions import db
from backend.handovers import documents
from backend.handovers.models import Handover
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules

AUTO = {"auto_approve_consumer_up_to": Decimal("1000.00")}


def _submitted() -> Handover:
    propose_handovers()
    submit_approved_handovers()
    (handover,) = db.session.scalars(sa.select(Handover)).all()
    assert handover.status == "submitted", handover.last_error
    return handover


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class TestShopwareInvoice:
    def test_the_shops_invoice_pdf_goes_with_the_case_and_is_downloadable(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, shopware: Any, shopware_order: Any
    ) -> None:
        fake, _ = shopware
        set_rules(merchant, **AUTO)
        receivable = shopware_order("119.00")
        earlier = fake.clock.now() - timedelta(days=3)
        fake.add_document(
            receivable.external_id, content=b"%PDF-1.4 old invoice", number="900", created_at=earlier
        )
        fake.add_document(
            receivable.external_id, content=b"%PDF-1.4 delivery note", document_type="delivery_note"
        )
        fake.add_document(receivable.external_id, content=b"%PDF-1.4 the invoice", number="901")

        handover = _submitted()

        assert (handover.document_source, handover.document_note) == ("shop", None)
        (case,) = db.session.scalars(sa.select(AgencyCase)).all()
        response = client.get(
            f"/api/v1/agency/cases/{case.id}/document", headers=auth_headers(merchant, "cases:write")
        )
        assert response.status_code == 200
        assert response.data == b"%PDF-1.4 the invoice"
        assert response.mimetype == "application/pdf"
        assert 'filename="invoice_901.pdf"' in response.headers["Content-Disposition"]
        detail = client.get(f"/api/v1/agency/cases/{case.id}", headers=auth_headers(merchant, "cases:write"))
        assert detail.get_json()["data"]["document"]["filename"] == "invoice_901.pdf"

    def test_a_timeout_falls_back_to_the_claim_statement_and_says_so(
        self,
        app: Any,
        monkeypatch: pytest.MonkeyPatch,
        merchant: Any,
        shopware: Any,
        shopware_order: Any,
    ) -> None:
        fake, server = shopware
        monkeypatch.setattr(documents, "DOCUMENT_TIMEOUT", (2.0, 0.2))
        set_rules(merchant, **AUTO)
        receivable = shopware_order("119.00")
        fake.add_document(receivable.external_id)
        server.delay_next(documents.DOCUMENT_RETRIES + 1, seconds=1.0, path="/api/_action/document/")

        handover = _submitted()

        assert handover.document_source == "generated"
        assert "TimeoutError" in handover.document_note
        (case,) = db.session.scalars(sa.select(AgencyCase)).all()
        assert case.document_filename == f"Forderungsaufstellung-{receivable.number}.pdf"
        assert receivable.number in _text(case.document_content)
        fallback = db.session.scalars(
            sa.select(AuditEvent).filter_by(action="handover.document_fallback")
        ).all()
        assert [event.target_id for event in fallback] == [str(handover.id)]

    def test_an_order_without_a_rendered_invoice_gets_the_statement(
        self, app: Any, merchant: Any, shopware: Any, shopware_order: Any
    ) -> None:
        fake, _ = shopware
        set_rules(merchant, **AUTO)
        receivable = shopware_order("119.00")
        fake.add_document(receivable.external_id, content=None)

        handover = _submitted()

        assert handover.document_source == "generated"
        assert handover.document_note == "the shop has no invoice document for this order"


class TestClaimStatement:
    def test_api_orders_get_a_statement_with_the_13a_data(self, app: Any, merchant: Any) -> None:
        set_rules(merchant, **AUTO)
        receivable = overdue_receivable(make_connection(merchant), "api-1", total="119.00")

        handover = _submitted()

        assert (handover.document_source, handover.document_note) == ("generated", None)
        (case,) = db.session.scalars(sa.select(AgencyCase)).all()
        text = _text(case.document_content)
        frozen = handover.breakdown
        segment = frozen["interest_segments"][0]
        for expected in (
            "Forderungsaufstellung",
            merchant.name,
            "Hafenstraße 5",
            "Anna Schmidt (Verbraucher)",
            f"Rechnungsnummer: {receivable.number}",
            f"Fällig am: {receivable.due_date:%d.%m.%Y}",
            "Kaffeemühle Aurora",
            "Hauptforderung 119,00 EUR",
            "Basiszinssatz + 5 Prozentpunkte",
            f"{segment['rate'].replace('.', ',')} % p.a.",
            "Zahlungserinnerung",
            "Letzte Mahnung",
            f"Offener Gesamtbetrag {frozen['total'].replace('.', ',')} EUR",
        ):
            assert expected in text, expected
        # A legal document: stage names in German, no internal codes, the letter's fee named with its date.
        dunning_day = receivable.due_date + timedelta(days=14)
        assert f"Mahnkosten (Brief) der Mahnung vom {dunning_day:%d.%m.%Y}" in text
        for code in ("(dunning)", "(final_notice)", "final_notice", "reminder"):
            assert code not in text, code

    def test_paywise_receives_the_statement_once(self, app: Any, merchant: Any, paywise: Any) -> None:
        fake_agency, agency_server = paywise
        set_rules(
            merchant, agency="http", agency_base_url=agency_server.url, api_key=fake_agency.api_key, **AUTO
        )
        receivable = overdue_receivable(make_connection(merchant), "api-2")

        handover = _submitted()

        ((filename, mime_type, content),) = fake_agency.document_contents(handover.idempotency_key)
        assert (filename, mime_type) == (f"Forderungsaufstellung-{receivable.number}.pdf", "application/pdf")
        assert content.startswith(b"%PDF")
