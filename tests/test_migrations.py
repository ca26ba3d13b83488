"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_migrations_match_the_models(app, db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_there_is_one_head(app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_connection_invoice_methods_are_folded_into_the_policy(tmp_path):
    """Upgrading past 0020 keeps every method a connection counted, in the merchant's one policy list."""
    from flask_migrate import upgrade

    from backend.extensions import db
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'claimbridge.db'}", tmp_path / "instance")
    now = "2026-12-06 18:00:00.000000"
    with app.app_context():
        upgrade(revision="0019")
        with db.engine.begin() as connection:
            for merchant_id in (1, 2, 3):
                connection.execute(
                    sa.text(
                        "INSERT INTO merchants (id, name, settings, created_at) VALUES (:id, 'M', '{}', :now)"
                    ),
                    {"id": merchant_id, "now": now},
                )
            for merchant_id, methods in (
                (1, '["cheque"]'),
                (1, '["bacs", "cheque"]'),
                (2, '["cod"]'),
                (3, None),
            ):
                connection.execute(
                    sa.text(
                        "INSERT INTO shop_connections (merchant_id, platform, name, shop_url, status, invoice_methods,"
                        " created_at, updated_at) VALUES (:m, 'woocommerce', '', 'https://s.example', 'active',"
                        " :methods, :now, :now)"
                    ),
                    {"m": merchant_id, "methods": methods, "now": now},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO risk_policies (merchant_id, document, updated_at)"
                    ' VALUES (2, \'{"review_at": 30, "invoice_methods": ["invoice"]}\', :now)'
                ),
                {"now": now},
            )
        upgrade()
        with db.engine.connect() as connection:
            documents = dict(
                connection.execute(sa.text("SELECT merchant_id, document FROM risk_policies")).all()
            )
        db.engine.dispose()
    assert {merchant_id: json.loads(document) for merchant_id, document in documents.items()} == {
        1: {"invoice_methods": ["invoice", "payment_invoicepayment", "cheque", "bacs"]},
        2: {"review_at": 30, "invoice_methods": ["invoice", "cod"]},
    }
