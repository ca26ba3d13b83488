"""Tests for the receivables API: filters, aging, paging, history, claim, disputes, stops and tenancy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.dates import berlin_today
from backend.merchants.models import Merchant
from connectors.shops.base import OrderState
from tests.factories import make_connection, shop_order, upsert

READ = "handovers:read"
WRITE = "handovers:read handovers:write"


@pytest.fixture
def connection(merchant: Merchant):
    return make_connection(merchant)


def _invoiced(days_past_due: int) -> date:
    """Return the invoice day whose 14-day term ended ``days_past_due`` days ago (Berlin)."""
    return berlin_today() - timedelta(days=14 + days_past_due)


class TestListing:
    @pytest.fixture
    def book(self, connection):
        """Receivables 5, 45, 75 and 120 days past due, one not yet due, one paid long ago."""
        rows = {
            name: upsert(connection, shop_order(name, invoiced_on=_invoiced(days)))
            for name, days in (("A5", 5), ("B45", 45), ("C75", 75), ("D120", 120), ("E-1", -3))
        }
        rows["F-paid"] = upsert(
            connection,
            shop_order("F-paid", invoiced_on=_invoiced(50), state=OrderState.PAID, paid_on=_invoiced(49)),
        )
        return rows

    def _numbers(self, client, headers, query: str) -> list[str]:
        response = client.get(f"/api/v1/receivables?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["number"] for item in response.get_json()["items"]]

    @pytest.mark.parametrize(
        ("query", "numbers"),
        [
            ("aging=0-30", ["RE-A5"]),
            ("aging=31-60", ["RE-B45"]),
            ("aging=61-90", ["RE-C75"]),
            ("aging=90%2B", ["RE-D120"]),
            ("overdue=true", ["RE-D120", "RE-C75", "RE-B45", "RE-A5"]),
            ("state=paid", ["RE-F-paid"]),
            ("state=open&state=paid&number=f-PA", ["RE-F-paid"]),
            ("number=e-1", ["RE-E-1"]),
        ],
    )
    def test_filters(self, client, auth_headers, merchant, book, query, numbers) -> None:
        assert self._numbers(client, auth_headers(merchant, READ), query) == numbers

    def test_paging_reports_the_total(self, client, auth_headers, merchant, book) -> None:
        headers = auth_headers(merchant, READ)
        response = client.get("/api/v1/receivables?per_page=4&page=2", headers=headers)
        body = response.get_json()
        assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (6, 2, 4, 2)
        assert response.headers["X-Total-Count"] == "6"
        first = client.get("/api/v1/receivables?per_page=4", headers=headers).get_json()["items"][0]
        assert (first["number"], first["days_past_due"], first["balance"]) == ("RE-D120", 120, "1190.00")

    @pytest.mark.parametrize(
        "query", ["per_page=101", "page=0", "aging=10-20", "state=lost", "overdue=maybe"]
    )
    def test_bad_query_is_a_422(self, client, auth_headers, merchant, query) -> None:
        response = client.get(f"/api/v1/receivables?{query}", headers=auth_headers(merchant, READ))
        assert response.status_code == 422

    def test_other_merchants_receivables_are_invisible(
        self, client, auth_headers, create_merchant, book
    ) -> None:
        other = create_merchant("Anderer Shop")
        headers = auth_headers(other, READ)
        assert client.get("/api/v1/receivables", headers=headers).get_json()["total"] == 0
        receivable_id = book["A5"].id
        for path in ("", "/claim"):
            assert (
                client.get(f"/api/v1/receivables/{receivable_id}{path}", headers=headers).status_code == 404
            )
        write = auth_headers(other, WRITE)
        response = client.post(
            f"/api/v1/receivables/{receivable_id}/dispute", json={"reason": "x"}, headers=write
        )
        assert response.status_code == 404

    def test_reading_needs_a_scope(self, client, auth_headers, merchant) -> None:
        assert (
            client.get("/api/v1/receivables", headers=auth_headers(merchant, "risk:check")).status_code == 403
        )


class TestManualActions:
    def test_dispute_is_recorded_in_history_and_audit(
        self, client, auth_headers, merchant, connection, db
    ) -> None:
        receivable = upsert(connection, shop_order("7001", invoiced_on=_invoiced(10)))
        headers = auth_headers(merchant, WRITE)
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/dispute",
            json={"reason": "Ware beschädigt", "by": "Herr Kaya"},
            headers=headers,
        )
        body = response.get_json()
        assert (body["state"], body["dispute_reason"]) == ("disputed", "Ware beschädigt")
        assert [event["kind"] for event in body["events"]] == ["created", "disputed"]
        assert body["events"][1]["actor"].endswith("(Herr Kaya)")
        again = client.post(
            f"/api/v1/receivables/{receivable.id}/dispute", json={"reason": "x"}, headers=headers
        )
        assert again.status_code == 409

        resolved = client.post(
            f"/api/v1/receivables/{receivable.id}/resolve-dispute",
            json={"state": "cancelled", "note": "Gutschrift erteilt"},
            headers=headers,
        ).get_json()
        assert (resolved["state"], resolved["disputed_at"]) == ("cancelled", None)
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_type == "receivable")
        )
        assert list(actions) == ["receivable.disputed", "receivable.dispute_resolved"]

    def test_a_paid_receivable_cannot_be_cancelled_by_resolving(
        self, client, auth_headers, merchant, connection
    ):
        receivable = upsert(connection, shop_order("7002", invoiced_on=_invoiced(10)))
        headers = auth_headers(merchant, WRITE)
        client.post(
            f"/api/v1/receivables/{receivable.id}/dispute", json={"reason": "zu teuer"}, headers=headers
        )
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/resolve-dispute",
            json={"state": "in_collection"},
            headers=headers,
        )
        assert response.status_code == 422
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/resolve-dispute", json={}, headers=headers
        )
        assert response.get_json()["state"] == "open"
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/resolve-dispute", json={}, headers=headers
        )
        assert response.status_code == 409

    def test_dunning_stop_and_lift(self, client, auth_headers, merchant, connection) -> None:
        receivable = upsert(connection, shop_order("7003", invoiced_on=_invoiced(10)))
        headers = auth_headers(merchant, WRITE)
        stopped = client.post(
            f"/api/v1/receivables/{receivable.id}/dunning-stop", json={"reason": "Ratenplan"}, headers=headers
        ).get_json()
        assert stopped["dunning_stop_reason"] == "Ratenplan"
        assert stopped["dunning_stopped_at"] is not None
        lifted = client.delete(f"/api/v1/receivables/{receivable.id}/dunning-stop?by=Chefin", headers=headers)
        body = lifted.get_json()
        assert (body["dunning_stopped_at"], body["events"][-1]["kind"]) == (None, "dunning_resumed")
        assert body["events"][-1]["actor"].endswith("(Chefin)")

    def test_changes_need_the_write_scope(self, client, auth_headers, merchant, connection) -> None:
        receivable = upsert(connection, shop_order("7004", invoiced_on=_invoiced(10)))
        response = client.post(
            f"/api/v1/receivables/{receivable.id}/dunning-stop",
            json={"reason": "x"},
            headers=auth_headers(merchant, READ),
        )
        assert response.status_code == 403


class TestClaim:
    def test_days_without_a_known_base_rate_carry_no_interest(
        self, client, auth_headers, merchant, connection
    ):
        # Business invoice 2 Nov 2026, due 16 Nov: default by §286(3) from 17 Dec 2026 (16 Dec + 1). The base
        # rate from 1 July 2026 is not bundled: no interest is claimed for those days (never a guessed rate),
        # and the answer says from when interest is still unpaid; the €40 flat fee does not depend on it.
        receivable = upsert(
            connection, shop_order("8001", invoiced_on=date(2026, 11, 2), vat_id="DE136695976")
        )
        response = client.get(
            f"/api/v1/receivables/{receivable.id}/claim?as_of=2027-02-15",
            headers=auth_headers(merchant, READ),
        )
        assert response.status_code == 200
        body = response.get_json()
        assert (body["default_start"], body["interest"], body["interest_unpaid_from"]) == (
            "2026-12-17",
            "0.00",
            "2026-12-17",
        )
        assert body["flat_fee"] == "40.00"

    def test_business_claim_by_the_thirty_day_rule(self, client, auth_headers, merchant, connection) -> None:
        # Business invoice 2 June 2025, due 16 June; received 5 June; 30 days after 16 June = 16 July;
        # default from 17 July: €40 flat fee, interest 1.27 + 9 = 10.27 % on 1,190.00 for 17-31 July
        # (15 days) = 5.02.
        receivable = upsert(
            connection, shop_order("8002", invoiced_on=date(2025, 6, 2), vat_id="DE136695976")
        )
        body = client.get(
            f"/api/v1/receivables/{receivable.id}/claim?as_of=2025-07-31",
            headers=auth_headers(merchant, READ),
        ).get_json()
        assert (body["debtor_kind"], body["default_start"], body["flat_fee"], body["interest"]) == (
            "business",
            "2025-07-17",
            "40.00",
            "5.02",
        )
        assert body["total_outstanding"] == "1235.02"
        # Due 2025: 31 Dec 2028 is a Sunday and 1 January a holiday, so the period ends 2 Jan 2029 (§193).
        assert body["limitation_date"] == "2029-01-02"
