"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import json
from decimal import Decimal

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


def test_stored_settings_beyond_the_new_bounds_are_lowered_to_them(tmp_path):
    """Upgrading past 0028 leaves no policy amount or schedule day count that the validation now refuses."""
    from flask_migrate import upgrade

    from backend.dunning.claims import DebtorKind
    from backend.dunning.merchant_settings import get_schedules
    from backend.extensions import db
    from backend.merchants.policy_store import get_policy, policy_cache
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'claimbridge.db'}", tmp_path / "instance")
    now = "2026-12-08 04:00:00.000000"
    huge = 2**40
    with app.app_context():
        upgrade(revision="0027")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO merchants (id, name, settings, created_at) VALUES (1, 'M', '{}', :now)"),
                {"now": now},
            )
            document = {
                "max_order_amount": "1E+28",
                "max_open_exposure": "900.00",
                "bureau": {"min_amount": "1E+13"},
            }
            connection.execute(
                sa.text(
                    "INSERT INTO risk_policies (merchant_id, document, updated_at) VALUES (1, :doc, :now)"
                ),
                {"doc": json.dumps(document), "now": now},
            )
            connection.execute(
                sa.text("INSERT INTO merchants (id, name, settings, created_at) VALUES (2, 'N', '{}', :now)"),
                {"now": now},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO risk_policies (merchant_id, document, updated_at) VALUES (2, :doc, :now)"
                ),
                {"doc": json.dumps({"max_open_exposure": None, "max_order_amount": "abc"}), "now": now},
            )
            # Each valid before: the last stage beyond the bound; a first stage's deadline beyond it; two stages.
            stored_stages = {
                (1, "consumer"): ((1, "reminder", 7, 5), (2, "final_notice", huge, huge)),
                (1, "business"): ((1, "reminder", 7, 5000), (2, "final_notice", 6000, 10)),
                (2, "consumer"): (
                    (1, "reminder", 7, 5),
                    (2, "dunning", 4000, 5),
                    (3, "final_notice", 5000, 10),
                ),
            }
            for (merchant_id, debtor_kind), kind_stages in stored_stages.items():
                connection.execute(
                    sa.text(
                        "INSERT INTO dunning_schedules (merchant_id, debtor_kind, handover_after_days,"
                        " updated_by, updated_at) VALUES (:merchant, :kind, :huge, 'x', :now)"
                    ),
                    {"merchant": merchant_id, "kind": debtor_kind, "huge": huge, "now": now},
                )
                for level, kind, offset, deadline in kind_stages:
                    connection.execute(
                        sa.text(
                            "INSERT INTO dunning_stages (merchant_id, debtor_kind, level, kind, offset_days,"
                            " fee, payment_deadline_days, channel) VALUES (:merchant, :debtor_kind, :level,"
                            " :kind, :offset, 0, :deadline, 'email')"
                        ),
                        {
                            "merchant": merchant_id,
                            "debtor_kind": debtor_kind,
                            "level": level,
                            "kind": kind,
                            "offset": offset,
                            "deadline": deadline,
                        },
                    )
        upgrade()
        policy_cache.clear()  # another test's merchant 1 may be cached: this app is none of the fixtures'
        policy = get_policy(1)
        schedules = get_schedules(1)
        three_stages = get_schedules(2)[DebtorKind.CONSUMER]
        with db.engine.connect() as connection:
            unreadable = connection.execute(
                sa.text("SELECT document FROM risk_policies WHERE merchant_id = 2")
            ).scalar_one()
        db.session.remove()
        db.engine.dispose()
    assert (policy.max_order_amount, policy.max_open_exposure, policy.bureau.min_amount) == (
        Decimal("999999999999.99"),
        Decimal("900.00"),
        Decimal("999999999999.99"),
    )
    assert {kind: schedule.handover_after_days for kind, schedule in schedules.items()} == {
        DebtorKind.CONSUMER: 3650,
        DebtorKind.BUSINESS: 3650,
    }
    assert {
        kind: [(stage.offset_days, stage.payment_deadline_days) for stage in schedule.stages]
        for kind, schedule in schedules.items()
    } == {DebtorKind.CONSUMER: [(7, 5), (3650, 3650)], DebtorKind.BUSINESS: [(7, 3642), (3650, 10)]}
    assert [(stage.offset_days, stage.payment_deadline_days) for stage in three_stages.stages] == [
        (7, 5),
        (3620, 5),
        (3650, 10),
    ]
    # What is no amount is left for the policy's own validation to name (the upgrade does not stop on it).
    assert json.loads(unreadable) == {"max_open_exposure": None, "max_order_amount": "abc"}
