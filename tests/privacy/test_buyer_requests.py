"""One buyer's data within one merchant: export (Art. 15 GDPR) and erasure within legal retention (Art. 17)."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.dates import berlin_today
from backend.dunning.models import DunningBuyerStop
from backend.extensions import db, utcnow
from backend.payments.models import KnownPayerIban
from backend.privacy.services import email_key
from backend.receivables.ledger import EventKind
from backend.receivables.models import Receivable, ReceivableEvent
from backend.risk.models import BuyerOverride, RiskCheck
from backend.shopware.models import ShopwareGatewayDecision
from connectors.shops.base import Address, OrderState
from tests.factories import make_connection, make_receivable, shop_order, upsert
from tests.risk.conftest import CLEAN_PAYLOAD

ANNA = CLEAN_PAYLOAD["buyer"]["email"]  # anna.schmidt@web.de
SCOPES = "privacy:write risk:check"
PACKSTATION = Address(
    first_name="Anna",
    last_name="Schmidt",
    street="Packstation",
    house_number="101",
    postal_code="60316",
    city="Frankfurt am Main",
    country="DE",
)


def settled_order(external_id: str = "o-paid"):
    return shop_order(
        external_id,
        invoiced_on=berlin_today() - timedelta(days=40),
        total="89.90",
        state=OrderState.PAID,
        paid_amount="89.90",
        paid_on=berlin_today() - timedelta(days=30),
        email="Anna.Schmidt@WEB.de",
        first_name="Anna",
        last_name="Schmidt",
        phone="+49 171 2345678",
        shipping_address=PACKSTATION,
    )


@pytest.fixture
def anna(app, client, merchant, create_merchant, auth_headers):
    """Anna at this merchant (a settled and an open order, a checkout, a learned IBAN, an override), plus
    Erika at this merchant and Anna at another merchant, who must stay untouched."""
    headers = auth_headers(merchant, SCOPES)
    connection = make_connection(merchant)
    upsert(connection, settled_order())
    make_receivable(connection, "o-open", total="49.90", email=ANNA, first_name="Anna", last_name="Schmidt")
    make_receivable(connection, "o-erika")
    assert client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=headers).status_code == 201
    key = email_key(ANNA)
    db.session.add(KnownPayerIban(merchant_id=merchant.id, email_key=key, iban="DE02120300000000202051"))
    db.session.add(
        BuyerOverride(
            merchant_id=merchant.id, key_kind="email", key_hash=key, mode="always_allow", created_by="anna"
        )
    )
    other = create_merchant("Anderer Shop")
    make_receivable(make_connection(other, url="https://other.example"), "o-elsewhere", email=ANNA)
    db.session.commit()
    return headers, other


def test_export_holds_everything_on_the_buyer_and_nothing_else(client, anna):
    headers, _ = anna
    response = client.post(
        "/api/v1/privacy/buyer-export", json={"email": "ANNA.schmidt@web.de"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert sorted(r["number"] for r in body["receivables"]) == ["RE-o-open", "RE-o-paid"]
    paid = next(r for r in body["receivables"] if r["number"] == "RE-o-paid")
    assert paid["total_amount"] == "89.90" and paid["balance"] == "0.00"
    assert paid["buyer"]["phone"] == "+49 171 2345678" and paid["shipping_address"]["street"] == "Packstation"
    assert [e["kind"] for e in paid["history"]][:1] == ["created"]
    assert len(body["risk_checks"]) == 1 and body["risk_checks"][0]["decision"] == "accept"
    assert (
        body["risk_checks"][0]["reasons"] == []
        and body["risk_checks"][0]["raw_input"]["buyer"]["email"] == ANNA
    )
    assert body["known_payer_ibans"][0]["iban"] == "DE02120300000000202051"
    assert body["overrides"][0]["mode"] == "always_allow"
    assert any("§ 147 AO" in line for line in body["retention"])
    assert "o-erika" not in json.dumps(body) and "o-elsewhere" not in json.dumps(body)


def test_erasure_keeps_open_claims_and_accounting_records_and_removes_the_rest(client, db, anna):
    headers, other = anna
    response = client.post(
        "/api/v1/privacy/buyer-erasure", json={"email": ANNA, "by": "DSR-2026-17"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["pseudonymised_receivables"] == ["RE-o-paid"]
    assert report["kept_open_claims"] == ["RE-o-open"]
    assert report["deleted"] == {
        "shopware_gateway_decisions": 0,
        "risk_checks": 1,
        "credit_reports": 0,
        "overrides": 1,
        "known_payer_ibans": 1,
    }

    paid = db.session.scalar(sa.select(Receivable).filter_by(external_id="o-paid"))
    # the invoice recipient stays (accounting record); contact data, delivery address and identity hashes go
    assert paid.buyer == {"first_name": "Anna", "last_name": "Schmidt", "is_guest": False}
    assert paid.billing_address["street"] == "Heidestraße" and paid.shipping_address is None
    assert paid.email_key is None and paid.address_key is None and paid.buyer_erased_at is not None
    assert paid.state == "paid" and str(paid.paid_amount) == "89.90"
    erased = db.session.scalar(
        sa.select(ReceivableEvent).filter_by(receivable_id=paid.id, kind=EventKind.BUYER_ERASED.value)
    )
    assert erased.data == {"removed": ["email", "phone", "shipping_address", "email_key", "address_key"]}
    still_open = db.session.scalar(sa.select(Receivable).filter_by(external_id="o-open"))
    assert still_open.buyer["email"] == ANNA and still_open.email_key is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 0
    elsewhere = db.session.scalar(sa.select(Receivable).filter_by(external_id="o-elsewhere"))
    assert elsewhere.merchant_id == other.id and elsewhere.buyer["email"] == ANNA

    audit = db.session.scalar(sa.select(AuditEvent).filter_by(action="privacy.buyer_erased"))
    assert report["blanked"] == {"blocking_override_notes": 0, "dunning_stop_reasons": 0}
    assert "DSR-2026-17" in audit.actor and "anna" not in json.dumps(audit.details).lower()

    # The shop still has the order: the next sync must not bring the contact data back.
    upsert(make_connection_of(paid), settled_order())
    db.session.refresh(paid)
    assert "email" not in paid.buyer and paid.shipping_address is None and paid.email_key is None

    again = client.post("/api/v1/privacy/buyer-export", json={"email": ANNA}, headers=headers).get_json()
    assert [r["number"] for r in again["receivables"]] == ["RE-o-open"] and again["risk_checks"] == []


class TestWhatErasureKeepsAndExportShows:
    """A block on a known non-payer and a dunning stop outlive an erasure without their free text."""

    @pytest.fixture
    def blocked(self, db, merchant, anna):
        """Anna blocked from invoice and exempt from dunning, each with a note; a Shopware checkout decision."""
        key = email_key(ANNA)
        db.session.execute(sa.delete(BuyerOverride))
        db.session.add(
            BuyerOverride(
                merchant_id=merchant.id,
                key_kind="email",
                key_hash=key,
                mode="never_allow",
                note="Zahlt nie, zwei Inkassofälle 2025",
                created_by="anna",
            )
        )
        db.session.add(
            DunningBuyerStop(
                merchant_id=merchant.id, email_key=key, reason="Pflegefall in der Familie", created_by="ben"
            )
        )
        check = db.session.scalar(sa.select(RiskCheck))
        db.session.add(
            ShopwareGatewayDecision(
                key_digest="d" * 64,
                connection_id=make_connection(merchant, url="https://sw.example").id,
                risk_check_id=check.id,
                customer_id="sw-customer-4711",
                hidden=[],
                expires_at=utcnow() + timedelta(minutes=30),
            )
        )
        db.session.commit()
        return anna[0]

    def test_export_shows_dunning_stops_and_checkout_decisions(self, client, blocked):
        body = client.post("/api/v1/privacy/buyer-export", json={"email": ANNA}, headers=blocked).get_json()
        assert [stop["reason"] for stop in body["dunning_buyer_stops"]] == ["Pflegefall in der Familie"]
        assert [d["customer_id"] for d in body["shopware_gateway_decisions"]] == ["sw-customer-4711"]
        assert body["overrides"][0]["note"] == "Zahlt nie, zwei Inkassofälle 2025"

    def test_erasure_keeps_the_block_and_the_stop_without_their_text(self, client, db, blocked):
        response = client.post(
            "/api/v1/privacy/buyer-erasure", json={"email": ANNA, "by": "DSR-18"}, headers=blocked
        )
        assert response.status_code == 200, response.get_json()
        report = response.get_json()
        assert report["deleted"]["overrides"] == 0 and report["deleted"]["shopware_gateway_decisions"] == 1
        assert report["blanked"] == {"blocking_override_notes": 1, "dunning_stop_reasons": 1}
        assert any("non-payer" in line for line in report["kept"])
        block = db.session.scalar(sa.select(BuyerOverride))
        assert (block.mode, block.note, block.key_hash) == ("never_allow", "", email_key(ANNA))
        assert db.session.scalar(sa.select(DunningBuyerStop.reason)) == ""
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ShopwareGatewayDecision)) == 0
        # The known non-payer cannot pay on invoice again after the erasure.
        again = client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=blocked).get_json()
        assert again["decision"] != "accept"
        assert "override_never_allow" in json.dumps(again)


def make_connection_of(receivable):
    return receivable.connection


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/privacy/buyer-export", {"email": "not-an-address"}, "/email"),
        ("/api/v1/privacy/buyer-erasure", {"email": ANNA}, "/by"),
        ("/api/v1/privacy/buyer-erasure", {"email": ANNA, "by": ""}, "/by"),
        # Free text would stay in the append-only audit trail: only a short reference is taken.
        ("/api/v1/privacy/buyer-erasure", {"email": ANNA, "by": "Anna Schmidt, called on Monday"}, "/by"),
        ("/api/v1/privacy/buyer-erasure", {"email": ANNA, "by": "T-1\n"}, "/by"),
        ("/api/v1/privacy/buyer-erasure", {"email": ANNA, "by": "T" * 65}, "/by"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client, merchant, auth_headers, path, body, field):
    response = client.post(path, json=body, headers=auth_headers(merchant, "privacy:write"))
    assert response.status_code == 422
    assert list(response.get_json()["details"]) == [field]


def test_needs_the_privacy_scope(client, merchant, auth_headers):
    headers = auth_headers(merchant, "risk:check handovers:read settings:write")
    assert (
        client.post("/api/v1/privacy/buyer-export", json={"email": ANNA}, headers=headers).status_code == 403
    )


class TestCli:
    def test_exports_and_erases(self, run, merchant, anna):
        exported = run("privacy", "export", "--merchant", str(merchant.id), "--email", ANNA)
        assert exported.exit_code == 0, exported.output
        assert len(json.loads(exported.output)["receivables"]) == 2
        free_text = run(
            "privacy",
            "erase",
            "--merchant",
            str(merchant.id),
            "--email",
            ANNA,
            "--by",
            "Anna rang an",
            "--yes",
        )
        assert free_text.exit_code == 2 and "ticket id" in free_text.output
        erased = run(
            "privacy", "erase", "--merchant", str(merchant.id), "--email", ANNA, "--by", "ops", "--yes"
        )
        assert erased.exit_code == 0, erased.output
        assert json.loads(erased.output)["pseudonymised_receivables"] == ["RE-o-paid"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(KnownPayerIban)) == 0

    def test_a_bad_address_is_a_clear_error(self, run, merchant):
        result = run("privacy", "export", "--merchant", str(merchant.id), "--email", "@")
        assert result.exit_code == 2 and "not an e-mail address" in result.output
