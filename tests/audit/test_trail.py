"""The audit trail: readable per merchant through the API and the CLI, and append-only in the database."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.audit.services import record_event, record_events
from backend.merchants.models import Merchant


@pytest.fixture
def trail(db, merchant, create_merchant):
    """Three events of the merchant (one an hour old), one of another merchant, one of the operator."""
    other = create_merchant("Anderer Shop")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    record_event("policy.updated", actor="anna", merchant_id=merchant.id, target_type="policy", target_id=1)
    record_event(
        "handover.approved", actor="ben", merchant_id=merchant.id, target_type="handover", target_id=7
    )
    record_event("policy.updated", actor="old", merchant_id=merchant.id).created_at = hour_ago
    record_event("policy.updated", actor="stranger", merchant_id=other.id)
    record_event("shopware.shop_purged", actor="shopware:abc", details={"merchant_id": 99})
    db.session.commit()
    return other


class TestApi:
    def test_lists_only_the_merchants_events_newest_first_paged(self, client, merchant, auth_headers, trail):
        headers = auth_headers(merchant, "audit:read")
        pages = [
            client.get(f"/api/v1/audit-events?per_page=2&page={page}", headers=headers).get_json()
            for page in (1, 2, 3)
        ]
        # merchant.created and client.created (by the fixtures) and the three above, never another's
        assert {body["total"] for body in pages} == {5}
        actors = [[item["actor"] for item in body["items"]] for body in pages]
        assert actors == [["test", "ben"], ["anna", "test"], ["old"]]
        assert "stranger" not in json.dumps(pages) and "shopware:abc" not in json.dumps(pages)

    def test_filters_by_action_and_time(self, client, merchant, auth_headers, trail):
        headers = auth_headers(merchant, "audit:read")
        body = client.get("/api/v1/audit-events?action=policy.updated", headers=headers).get_json()
        assert [item["actor"] for item in body["items"]] == ["anna", "old"]
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        recent = client.get(
            "/api/v1/audit-events", query_string={"action": "policy.updated", "since": since}, headers=headers
        ).get_json()
        assert [item["actor"] for item in recent["items"]] == ["anna"]

    def test_a_naive_time_is_a_422(self, client, merchant, auth_headers):
        response = client.get(
            "/api/v1/audit-events?since=2026-01-01T00:00:00", headers=auth_headers(merchant, "audit:read")
        )
        assert response.status_code == 422
        assert "since" in json.dumps(response.get_json()["details"])

    @pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
    def test_a_time_outside_the_utc_range_is_a_422(self, client, merchant, auth_headers, since):
        response = client.get(
            "/api/v1/audit-events",
            query_string={"since": since},
            headers=auth_headers(merchant, "audit:read"),
        )
        assert response.status_code == 422
        assert "since" in json.dumps(response.get_json()["details"])

    def test_a_time_with_an_offset_is_compared_in_utc(self, client, merchant, auth_headers, trail):
        berlin_time = timezone(timedelta(hours=2))
        since = (datetime.now(UTC) - timedelta(minutes=5)).astimezone(berlin_time).isoformat()
        recent = client.get(
            "/api/v1/audit-events",
            query_string={"action": "policy.updated", "since": since},
            headers=auth_headers(merchant, "audit:read"),
        ).get_json()
        assert [item["actor"] for item in recent["items"]] == ["anna"]

    def test_needs_the_audit_scope(self, client, merchant, auth_headers):
        response = client.get("/api/v1/audit-events", headers=auth_headers(merchant, "handovers:read"))
        assert response.status_code == 403

    def test_is_in_the_openapi_document_with_its_scope(self, client):
        operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/audit-events"]["get"]
        assert operation["security"] == [{"oauth2": ["audit:read"]}]


class TestCli:
    def test_lists_one_merchants_events_as_json(self, run, merchant, trail):
        result = run("audit", "list", "--merchant", str(merchant.id), "--action", "policy.updated", "--json")
        assert result.exit_code == 0, result.output
        body = json.loads(result.output)
        assert body["total"] == 2
        assert [item["actor"] for item in body["items"]] == ["anna", "old"]

    def test_without_a_merchant_lists_the_operators_events(self, run, trail):
        result = run("audit", "list")
        assert "shopware.shop_purged" in result.output
        assert "policy.updated" not in result.output
        assert "1 of 1 events" in result.output


class TestAppendOnly:
    def test_the_database_refuses_to_change_an_event(self, db, merchant, trail):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.update(AuditEvent).values(actor="someone else"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.actor == "someone else")) == 0

    def test_the_database_refuses_to_delete_an_event(self, db, merchant, trail):
        for where in (AuditEvent.merchant_id == merchant.id, AuditEvent.merchant_id.is_(None)):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.delete(AuditEvent).where(where))
            db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 7

    def test_events_go_with_their_merchant_when_it_is_purged(self, db, merchant, trail):
        db.session.execute(sa.delete(Merchant).where(Merchant.id == trail.id))
        db.session.commit()
        remaining = db.session.scalars(sa.select(AuditEvent.actor)).all()
        assert "stranger" not in remaining and "shopware:abc" in remaining and len(remaining) == 5


class TestClientAddress:
    @pytest.mark.parametrize(
        ("address", "stored"),
        [
            ("203.0.113.9", "203.0.113.9"),
            ("2001:DB8::1", "2001:db8::1"),
            ("203.0.113.9\x00", None),  # a forwarded header is the client's text: PostgreSQL refuses NUL
            ("1" * 65, None),  # longer than the column
            ("unknown", None),
        ],
    )
    def test_only_an_ip_address_is_kept(self, app, db, merchant, address, stored):
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            record_event("policy.updated", actor="anna", merchant_id=merchant.id)
            record_events([{"action": "policy.updated", "actor": "ben", "merchant_id": merchant.id}])
            db.session.commit()
        kept = db.session.scalars(
            sa.select(AuditEvent.remote_addr).where(AuditEvent.actor.in_(["anna", "ben"]))
        ).all()
        assert kept == [stored, stored]
