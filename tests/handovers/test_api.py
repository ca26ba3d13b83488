"""The merchant's handover API: listing, decisions, isolation between merchants, validation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.handovers.models import Handover, HandoverRule
from backend.handovers.proposals import propose_handovers
from backend.handovers.submission import submit_approved_handovers
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules

WRITE = "handovers:read handovers:write"


def _proposals(merchant: Any, count: int) -> list[int]:
    set_rules(merchant)
    connection = make_connection(merchant)
    for index in range(count):
        overdue_receivable(connection, f"{merchant.id}-{index}")
    propose_handovers()
    return list(
        db.session.scalars(sa.select(Handover.id).filter_by(merchant_id=merchant.id).order_by(Handover.id))
    )


class TestHandoverApi:
    def test_lists_by_status_with_paging_and_counts_proposals(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        _proposals(merchant, 3)
        headers = auth_headers(merchant)

        page = client.get("/api/v1/handovers?status=proposed&per_page=2&page=2", headers=headers).get_json()
        summary = client.get("/api/v1/handovers/summary", headers=headers).get_json()

        assert (page["total"], len(page["items"])) == (3, 1)
        assert page["items"][0]["breakdown"]["principal"] == "119.00"
        assert summary["proposed"] == 3 and summary["by_status"]["approved"] == 0

    def test_bulk_approval_is_audited_with_who_and_when(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        ids = _proposals(merchant, 2)

        response = client.post(
            "/api/v1/handovers/approve",
            json={"ids": ids, "by": "chef@shop.example"},
            headers=auth_headers(merchant, WRITE),
        )

        assert response.status_code == 200
        assert [item["status"] for item in response.get_json()["items"]] == ["approved", "approved"]
        events = db.session.scalars(sa.select(AuditEvent).filter_by(action="handover.approved")).all()
        assert len(events) == 2 and all(
            "chef@shop.example" in event.actor and event.created_at for event in events
        )

    def test_another_merchants_handover_is_not_found(
        self, client: Any, create_merchant: Any, auth_headers: Any
    ) -> None:
        owner, other = create_merchant("Owner GmbH"), create_merchant("Other GmbH")
        (handover_id,) = _proposals(owner, 1)
        headers = auth_headers(other, WRITE)

        assert client.get(f"/api/v1/handovers/{handover_id}", headers=headers).status_code == 404
        assert (
            client.post(
                f"/api/v1/handovers/{handover_id}/approve", json={"by": "x"}, headers=headers
            ).status_code
            == 404
        )
        bulk = client.post(
            "/api/v1/handovers/approve", json={"ids": [handover_id], "by": "x"}, headers=headers
        )
        assert bulk.status_code == 404
        assert client.get("/api/v1/handovers", headers=auth_headers(other)).get_json()["total"] == 0
        db.session.expire_all()
        assert db.session.get(Handover, handover_id).status == "proposed"

    def test_invalid_bodies_answer_422_with_json_pointers(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        (handover_id,) = _proposals(merchant, 1)
        headers = auth_headers(merchant, WRITE)

        missing_by = client.post(
            f"/api/v1/handovers/{handover_id}/approve", json={"note": 5}, headers=headers
        )
        bad_ids = client.post(
            "/api/v1/handovers/approve", json={"ids": ["a", 1, 1], "by": "x"}, headers=headers
        )
        bad_status = client.get("/api/v1/handovers?status=lost", headers=headers)

        assert missing_by.status_code == 422
        assert set(missing_by.get_json()["details"]) == {"/by", "/note"}
        assert bad_ids.status_code == 422 and "/ids/0" in bad_ids.get_json()["details"]
        assert bad_status.status_code == 422 and "/query/status" in bad_status.get_json()["details"]

    def test_withdraw_before_and_after_submission_and_never_revive(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        first, second = _proposals(merchant, 2)
        headers = auth_headers(merchant, WRITE)

        withdrawn = client.post(f"/api/v1/handovers/{first}/withdraw", json={"by": "x"}, headers=headers)
        client.post(f"/api/v1/handovers/{second}/approve", json={"by": "x"}, headers=headers)
        submit_approved_handovers()
        after = client.post(f"/api/v1/handovers/{second}/withdraw", json={"by": "x"}, headers=headers)
        rejected_after = client.post(f"/api/v1/handovers/{first}/approve", json={"by": "x"}, headers=headers)

        assert withdrawn.get_json()["status"] == "withdrawn"
        assert withdrawn.get_json()["withdrawn_at"] is None  # never submitted: a plain decision
        assert after.status_code == 200 and after.get_json()["status"] == "withdrawn"
        assert rejected_after.status_code == 409 and rejected_after.get_json()["error"] == "handover_state"
        propose_handovers()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 2

    def test_rules_store_the_agency_key_encrypted_and_never_show_it(
        self, client: Any, merchant: Any, auth_headers: Any
    ) -> None:
        headers = auth_headers(merchant, "settings:write")
        body = {
            "minimum_amount": "25.00",
            "auto_approve_consumer_up_to": "100.00",
            "agency": "http",
            "agency_base_url": "https://api.paywise.de",
            "agency_api_key": "pw_live_secret",
            "creditor_address": {"street": "Hafenstraße", "postal_code": "20457", "city": "Hamburg"},
        }
        stored = client.put("/api/v1/handover-rules", json=body, headers=headers)
        missing_key = client.put(
            "/api/v1/handover-rules",
            json={"agency": "http", "creditor_address": body["creditor_address"]},
            headers=auth_headers(merchant, "settings:write"),
        )

        assert stored.status_code == 200
        assert stored.get_json()["agency_api_key_set"] is True and "agency_api_key" not in stored.get_json()
        assert "pw_live_secret" not in stored.get_data(as_text=True)
        assert missing_key.status_code == 422 and "/agency_base_url" in missing_key.get_json()["details"]
        assert Decimal(stored.get_json()["minimum_amount"]) == Decimal("25.00")

    @pytest.mark.parametrize("amount", ["0.001", "1e-1000000", "1e-999999999"])
    @pytest.mark.parametrize("name", ["auto_approve_consumer_up_to", "auto_approve_business_up_to"])
    def test_an_auto_approval_limit_beyond_cents_is_422_and_stores_nothing(
        self, client: Any, merchant: Any, auth_headers: Any, name: str, amount: str
    ) -> None:
        headers = auth_headers(merchant, "settings:write")
        body = {
            name: amount,
            "creditor_address": {"street": "Hafenstraße", "postal_code": "20457", "city": "Hamburg"},
        }
        response = client.put("/api/v1/handover-rules", json=body, headers=headers)

        assert response.status_code == 422
        assert response.get_json()["details"] == {
            f"/{name}": ["Not an amount in cents of at most 999999999999.99."]
        }
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HandoverRule)) == 0
        assert db.session.scalar(sa.select(AuditEvent).filter_by(action="handover_rules.updated")) is None
        shown = client.get("/api/v1/handover-rules", headers=headers)
        assert shown.status_code == 200 and shown.get_json()[name] is None

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1:9/", "http://[2002:a9fe:a9fe::]/", "ftp://agency.example/"]
    )
    def test_an_agency_url_the_worker_may_not_call_is_refused_when_set(
        self, app: Any, client: Any, merchant: Any, auth_headers: Any, monkeypatch: Any, url: str
    ) -> None:
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_ALLOW_PRIVATE_URLS", False)
        body = {
            "agency": "http",
            "agency_base_url": url,
            "agency_api_key": "pw_live_secret",
            "creditor_address": {"street": "Hafenstraße", "postal_code": "20457", "city": "Hamburg"},
        }
        response = client.put(
            "/api/v1/handover-rules", json=body, headers=auth_headers(merchant, "settings:write")
        )
        assert response.status_code == 422
        assert "/agency_base_url" in response.get_json()["details"]
        rules = client.get(
            "/api/v1/handover-rules", headers=auth_headers(merchant, "settings:write")
        ).get_json()
        assert rules["agency"] != "http"
