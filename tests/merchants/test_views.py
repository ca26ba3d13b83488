import sqlalchemy as sa

from backend.crypto import encrypt_text
from backend.merchants.models import ShopConnection


def _add_connection(db, merchant, **overrides):
    fields = {
        "platform": "woocommerce",
        "name": "Hauptshop",
        "shop_url": "https://shop.example.de",
        "status": "active",
        "credentials_encrypted": encrypt_text('{"consumer_secret": "cs_topsecret"}'),
        **overrides,
    }
    connection = ShopConnection(merchant_id=merchant.id, **fields)
    db.session.add(connection)
    db.session.commit()
    return connection


class TestMerchantEndpoint:
    def test_returns_callers_merchant(self, client, create_merchant, auth_headers):
        mine = create_merchant("Mein Shop")
        create_merchant("Fremder Shop")
        body = client.get("/api/v1/merchant", headers=auth_headers(mine)).get_json()
        assert body["id"] == mine.id
        assert body["name"] == "Mein Shop"

    def test_a_risk_check_token_reads_no_bank_account_or_reply_to(self, client, db, merchant, auth_headers):
        merchant.settings = {
            "dunning": {"payment_details": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}},
            "reply_to": "buchhaltung@shop.de",
        }
        db.session.commit()
        response = client.get("/api/v1/merchant", headers=auth_headers(merchant, "risk:check"))
        assert response.status_code == 200
        assert response.get_json()["scopes"] == ["risk:check"]
        text = response.get_data(as_text=True)
        for secret in ("DE89370400440532013000", "COBADEFFXXX", "buchhaltung@shop.de", "settings"):
            assert secret not in text


class TestConnections:
    def test_lists_only_own_connections_without_credentials(self, client, db, create_merchant, auth_headers):
        mine, other = create_merchant("Mein Shop"), create_merchant("Fremder Shop")
        own = _add_connection(db, mine)
        _add_connection(db, other, shop_url="https://other.example.de")
        response = client.get("/api/v1/connections", headers=auth_headers(mine))
        body = response.get_json()
        assert [c["id"] for c in body] == [own.id]
        assert body[0]["has_credentials"] is True
        assert b"cs_topsecret" not in response.data
        assert "credentials_encrypted" not in body[0]

    def test_other_merchants_connection_is_404(self, client, db, create_merchant, auth_headers):
        mine, other = create_merchant("Mein Shop"), create_merchant("Fremder Shop")
        foreign = _add_connection(db, other)
        response = client.get(f"/api/v1/connections/{foreign.id}", headers=auth_headers(mine))
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"

    def test_gets_own_connection(self, client, db, merchant, auth_headers):
        own = _add_connection(db, merchant)
        body = client.get(f"/api/v1/connections/{own.id}", headers=auth_headers(merchant)).get_json()
        assert body["shop_url"] == "https://shop.example.de"

    def test_credentials_are_encrypted_at_rest(self, db, merchant):
        _add_connection(db, merchant)
        stored = db.session.scalar(sa.select(ShopConnection.credentials_encrypted))
        assert "cs_topsecret" not in stored
