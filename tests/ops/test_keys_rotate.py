"""``claimbridge keys rotate``: every stored secret moves to the newest key, so the old one can be retired."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from backend.crypto import decrypt_text, encrypt_text
from backend.extensions import db
from backend.merchants.connectors import stored_credentials
from backend.merchants.models import ShopConnection
from backend.ops import keys
from backend.ops.keys import encrypted_columns
from backend.shopware.models import ShopwareShop
from tests.factories import make_connection


@pytest.fixture
def keyring(app):
    """Set the configured keys for a test; restore them after."""
    original = app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]

    def use(*keys_: str) -> None:
        app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = list(keys_)

    yield use
    app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"] = original


@pytest.fixture
def old_secrets(app, merchant, keyring):
    """Five connections and a Shopware shop whose secrets are under the old key."""
    old = Fernet.generate_key().decode()
    keyring(old)
    connections = [
        make_connection(
            merchant,
            "woocommerce",
            f"https://shop{n}.example",
            consumer_key=f"ck_{n}",
            consumer_secret=f"cs_{n}",
        )
        for n in range(5)
    ]
    shop = ShopwareShop(
        connection_id=connections[0].id,
        secret_encrypted=encrypt_text("shop-secret"),
        previous_secret_encrypted=encrypt_text("older"),
    )
    db.session.add(shop)
    db.session.commit()
    return old, [c.id for c in connections]


def _all_readable_with_only(key: str, keyring, connection_ids) -> list[str]:
    keyring(key)
    db.session.expire_all()
    secrets = [
        stored_credentials(db.session.get(ShopConnection, cid))["consumer_secret"] for cid in connection_ids
    ]
    return secrets


def test_every_encrypted_column_is_covered():
    names = {f"{table.name}.{column.name}" for table, column in encrypted_columns()}
    assert {
        "shop_connections.credentials_encrypted",
        "shopware_shops.secret_encrypted",
        "shopware_shops.pending_secret_encrypted",
        "shopware_shops.previous_secret_encrypted",
        "woocommerce_webhooks.secret_encrypted",
        "woocommerce_connect_sessions.credentials_encrypted",
        "handover_rules.agency_api_key_encrypted",
        "risk_policies.bureau_account_encrypted",
    } <= names


def test_rotates_everything_so_the_old_key_can_go(run, keyring, old_secrets):
    old, connection_ids = old_secrets
    new = Fernet.generate_key().decode()
    keyring(new, old)
    result = run("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "shop_connections.credentials_encrypted" in result.output and "may now be removed" in result.output
    # Only the new key configured: everything still opens.
    assert _all_readable_with_only(new, keyring, connection_ids) == [f"cs_{n}" for n in range(5)]

    shop = db.session.scalar(sa.select(ShopwareShop))
    assert (
        decrypt_text(shop.secret_encrypted) == "shop-secret"
        and decrypt_text(shop.previous_secret_encrypted) == "older"
    )
    # A second run has nothing left to do.
    keyring(new, old)
    again = keys.rotate_stored_secrets()
    assert sum(again.rotated.values()) == 0 and again.current["shop_connections.credentials_encrypted"] == 5


def test_a_run_that_crashed_half_way_is_finished_by_running_again(app, keyring, old_secrets, monkeypatch):
    old, connection_ids = old_secrets
    new = Fernet.generate_key().decode()
    keyring(new, old)
    monkeypatch.setattr(keys, "BATCH", 2)
    real_rotate, calls = keys.rotate_text, []

    def dies_on_the_fourth(token):
        calls.append(token)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a kill, in the middle of the second batch
        return real_rotate(token)

    monkeypatch.setattr(keys, "rotate_text", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate_stored_secrets()
    db.session.rollback()
    monkeypatch.setattr(keys, "rotate_text", real_rotate)
    report = keys.rotate_stored_secrets()
    # The first batch (two rows) was committed before the crash; the rest is done now.
    assert report.current["shop_connections.credentials_encrypted"] == 2
    assert report.rotated["shop_connections.credentials_encrypted"] == 3
    assert _all_readable_with_only(new, keyring, connection_ids) == [f"cs_{n}" for n in range(5)]


def test_a_secret_no_key_opens_is_named_and_fails_the_command(run, keyring, old_secrets):
    _old, connection_ids = old_secrets
    new = Fernet.generate_key().decode()
    keyring(new)  # the old key was dropped too early
    result = run("keys", "rotate")
    assert result.exit_code == 1
    assert (
        f"cannot decrypt shop_connections.credentials_encrypted {{'id': {connection_ids[0]}}}"
        in result.output
    )
    assert "may now be removed" not in result.output


def test_a_secret_changed_during_the_rotation_is_not_overwritten(app, keyring, old_secrets, monkeypatch):
    old, connection_ids = old_secrets
    new = Fernet.generate_key().decode()
    keyring(new, old)
    real_rotate = keys.rotate_text

    def merchant_saves_new_credentials_meanwhile(token):
        if token == db.session.get(ShopConnection, connection_ids[0]).credentials_encrypted:
            with db.engine.begin() as other:
                other.execute(
                    sa.update(ShopConnection)
                    .where(ShopConnection.id == connection_ids[0])
                    .values(
                        credentials_encrypted=Fernet(new.encode())
                        .encrypt(b'{"consumer_key": "ck_x", "consumer_secret": "cs_new"}')
                        .decode()
                    )
                )
        return real_rotate(token)

    monkeypatch.setattr(keys, "rotate_text", merchant_saves_new_credentials_meanwhile)
    keys.rotate_stored_secrets()
    assert _all_readable_with_only(new, keyring, connection_ids)[0] == "cs_new"
