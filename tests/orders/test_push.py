"""PUT /api/v1/orders/{external_id}: pushed invoice orders become receivables, idempotently, per merchant."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.merchants.models import ShopConnection
from backend.receivables.models import Receivable


def order_body(**overrides):
    body = {
        "number": "RE-2024-001",
        "total": "119.00",
        "currency": "eur",
        "payment_method": "invoice",
        "ordered_at": "2024-05-01T22:30:00Z",
        "buyer": {"email": "erika@example.com", "first_name": "Erika", "last_name": "Mustermann"},
        "billing_address": {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "street": "Musterstraße",
            "house_number": "12a",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "de",
        },
        "items": [{"name": "Kaffeemühle", "quantity": 1, "unit_price": "119.00", "total": "119.00"}],
    }
    return {**body, **overrides}


@pytest.fixture
def headers(merchant, auth_headers):
    return auth_headers(merchant, "orders:write")


class TestPushOrder:
    def test_creates_then_updates_then_reports_unchanged(self, client, db, headers):
        created = client.put("/api/v1/orders/A-1", json=order_body(), headers=headers)
        assert created.status_code == 201, created.get_json()
        body = created.get_json()
        assert (body["external_id"], body["number"], body["state"], body["currency"]) == (
            "A-1",
            "RE-2024-001",
            "open",
            "EUR",
        )
        assert (body["total"], body["paid_amount"], body["balance"]) == ("119.00", "0.00", "119.00")
        # Ordered 00:30 on 2 May in Berlin: invoice day and the default 14-day term count in Berlin days.
        assert (body["invoice_date"], body["due_date"]) == ("2024-05-02", "2024-05-16")

        paid = client.put(
            "/api/v1/orders/A-1",
            json=order_body(state="partially_paid", paid_amount="19.00"),
            headers=headers,
        )
        assert paid.status_code == 200
        assert (paid.get_json()["state"], paid.get_json()["balance"]) == ("partially_paid", "100.00")
        again = client.put(
            "/api/v1/orders/A-1",
            json=order_body(state="partially_paid", paid_amount="19.00"),
            headers=headers,
        )
        assert again.status_code == 200
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 1

    def test_goes_to_one_api_connection_of_the_merchant(self, client, db, headers, merchant):
        client.put("/api/v1/orders/A-1", json=order_body(), headers=headers)
        client.put("/api/v1/orders/A-2", json=order_body(), headers=headers)
        connections = db.session.scalars(sa.select(ShopConnection)).all()
        assert [(c.merchant_id, c.platform) for c in connections] == [(merchant.id, "api")]

    def test_explicit_dates_are_kept(self, client, headers):
        body = client.put(
            "/api/v1/orders/A-1",
            json=order_body(invoice_date="2024-05-03", due_date="2024-06-02"),
            headers=headers,
        ).get_json()
        assert (body["invoice_date"], body["due_date"]) == ("2024-05-03", "2024-06-02")

    @pytest.mark.parametrize(
        ("overrides", "pointer"),
        [
            ({"total": 119.0}, "/total"),
            ({"total": "1.234,00"}, "/total"),
            ({"currency": "EURO"}, "/currency"),
            ({"state": "disputed"}, "/state"),
            ({"ordered_at": "yesterday"}, "/ordered_at"),
            ({"ordered_at": "0001-01-01T00:00:00+01:00"}, "/ordered_at"),  # before year 1 in UTC
            ({"shipped_at": "9999-12-31T23:59:59-01:00"}, "/shipped_at"),  # after year 9999 in UTC
            # The claim's dates lie years beyond these: near year 9999 they overflowed (a 500, then on every read).
            ({"ordered_at": "9999-12-31T23:59:59Z"}, "/ordered_at"),
            ({"invoice_date": "9999-12-20"}, "/invoice_date"),
            ({"due_date": "9998-12-31"}, "/due_date"),
            ({"shipped_at": "2200-01-01T00:00:00Z"}, "/shipped_at"),
            ({"paid_amount": "200.00"}, "/paid_amount"),
            ({"state": "partially_paid"}, "/paid_amount"),
            ({"due_date": "2024-04-01"}, "/due_date"),
            ({"buyer": {"email": "not-an-email"}}, "/buyer/email"),
            ({"billing_address": {"city": "Berlin"}}, "/billing_address/country"),
            (
                {"items": [{"name": "x", "quantity": 0, "unit_price": "1.00", "total": "1.00"}]},
                "/items/0/quantity",
            ),
            ({"surprise": True}, "/surprise"),
        ],
    )
    def test_invalid_fields_are_422_with_json_pointers(self, client, db, headers, overrides, pointer):
        response = client.put("/api/v1/orders/A-1", json=order_body(**overrides), headers=headers)
        assert response.status_code == 422
        assert pointer in response.get_json()["details"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 0

    def test_missing_required_fields_are_named(self, client, headers):
        response = client.put("/api/v1/orders/A-1", json={}, headers=headers)
        assert response.status_code == 422
        details = response.get_json()["details"]
        assert {
            "/number",
            "/total",
            "/currency",
            "/payment_method",
            "/ordered_at",
            "/buyer",
            "/billing_address",
        } <= set(details)

    def test_too_long_external_id_is_422(self, client, headers):
        response = client.put(f"/api/v1/orders/{'x' * 101}", json=order_body(), headers=headers)
        assert response.status_code == 422
        assert "/external_id" in response.get_json()["details"]

    def test_needs_orders_scope(self, client, merchant, auth_headers):
        response = client.put(
            "/api/v1/orders/A-1", json=order_body(), headers=auth_headers(merchant, "risk:check")
        )
        assert response.status_code == 403

    def test_merchants_are_isolated(self, client, db, create_merchant, auth_headers):
        first, second = create_merchant("Erster"), create_merchant("Zweiter")
        mine = auth_headers(first, "orders:write")
        theirs = auth_headers(second, "orders:write")
        assert (
            client.put("/api/v1/orders/SAME", json=order_body(total="10.00"), headers=mine).status_code == 201
        )
        assert (
            client.put("/api/v1/orders/SAME", json=order_body(total="99.00"), headers=theirs).status_code
            == 201
        )
        rows = db.session.scalars(sa.select(Receivable).order_by(Receivable.id)).all()
        assert [(r.merchant_id, str(r.total_amount)) for r in rows] == [
            (first.id, "10.00"),
            (second.id, "99.00"),
        ]
        assert rows[0].connection_id != rows[1].connection_id

    def test_client_bound_to_a_connection_pushes_into_it(
        self, client, db, merchant, woocommerce, auth_headers
    ):
        from backend.merchants.models import ApiClient
        from tests.orders.support import CONNECT_SCOPES, connect

        connection_id = connect(
            client, auth_headers(merchant, CONNECT_SCOPES), woocommerce, "woocommerce"
        ).get_json()["id"]
        headers = auth_headers(merchant, "orders:write")
        newest = db.session.scalars(sa.select(ApiClient).order_by(ApiClient.id.desc())).first()
        newest.connection_id = connection_id
        db.session.commit()
        body = client.put("/api/v1/orders/1001", json=order_body(), headers=headers).get_json()
        assert body["connection_id"] == connection_id


class TestDebtorKindAndInvoiceNotice:
    """§13 BGB: in doubt a natural person is a consumer; a company field alone does not make a business."""

    def push(self, client, headers, external_id, **overrides):
        response = client.put(f"/api/v1/orders/{external_id}", json=order_body(**overrides), headers=headers)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return body["debtor_kind"], body["invoice_has_default_notice"]

    def test_a_company_name_alone_is_a_consumer(self, client, headers):
        address = {**order_body()["billing_address"], "company": "Erikas Hobbykeller"}
        assert self.push(client, headers, "K-1", billing_address=address) == ("consumer", False)

    def test_a_vat_id_or_the_explicit_field_makes_a_business(self, client, headers):
        assert self.push(client, headers, "K-2", vat_id="DE136695976")[0] == "business"
        assert self.push(client, headers, "K-3", debtor_kind="business")[0] == "business"
        assert (
            self.push(client, headers, "K-4", debtor_kind="consumer", vat_id="DE136695976")[0] == "consumer"
        )

    def test_text_that_is_no_valid_vat_id_leaves_a_consumer(self, client, headers):
        for number, text in enumerate(("-", "keine", "DE123456789", "n/a")):
            assert self.push(client, headers, f"K-V{number}", vat_id=text)[0] == "consumer"

    def test_the_merchants_settings_apply_where_the_order_says_nothing(self, client, headers, merchant, db):
        merchant.settings = {
            **merchant.settings,
            "claims": {"sells_to_businesses_only": True, "invoices_carry_default_notice": True},
        }
        db.session.commit()
        assert self.push(client, headers, "K-5") == ("business", True)
        assert self.push(
            client, headers, "K-6", debtor_kind="consumer", invoice_has_default_notice=False
        ) == (
            "consumer",
            False,
        )

    def test_the_invoice_notice_is_settable_per_order(self, client, headers):
        assert self.push(client, headers, "K-7", invoice_has_default_notice=True) == ("consumer", True)

    def test_an_unknown_debtor_kind_is_a_422(self, client, headers):
        response = client.put("/api/v1/orders/K-8", json=order_body(debtor_kind="robot"), headers=headers)
        assert response.status_code == 422


class TestDueDateFromShipment:
    def test_the_term_runs_from_shipment(self, client, headers, merchant, db):
        merchant.settings = {**merchant.settings, "claims": {"due_date_from": "shipment"}}
        db.session.commit()
        # Ordered 2 May (Berlin), shipped 6 May: 14 days' terms from shipment -> due 20 May.
        shipped = client.put(
            "/api/v1/orders/S-1", json=order_body(shipped_at="2024-05-06T09:00:00Z"), headers=headers
        )
        assert shipped.status_code == 201, shipped.get_json()
        assert (shipped.get_json()["invoice_date"], shipped.get_json()["due_date"]) == (
            "2024-05-02",
            "2024-05-20",
        )
        # A pushed invoice without a shipment date counts from its invoice date.
        unshipped = client.put("/api/v1/orders/S-2", json=order_body(), headers=headers)
        assert unshipped.get_json()["due_date"] == "2024-05-16"
