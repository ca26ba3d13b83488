"""one invoice methods setting: the merchant policy's list, for every shop

Each connection's own list (added in 0017) is folded into its merchant's policy document and the column is
dropped. The merge is a union, so no method that counted as invoice anywhere stops counting: a policy without
its own list starts from the default it had until now.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 19:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# RiskPolicy.invoice_methods' default before this revision (a document without the field meant these).
PREVIOUS_DEFAULT = ["invoice", "payment_invoicepayment"]

connections = sa.table(
    "shop_connections",
    sa.column("id", sa.Integer),
    sa.column("merchant_id", sa.Integer),
    sa.column("invoice_methods", backend.types.JSONType),
)
policies = sa.table(
    "risk_policies",
    sa.column("merchant_id", sa.Integer),
    sa.column("document", backend.types.JSONType),
    sa.column("updated_at", backend.types.UTCDateTime),
)


def upgrade():
    bind = op.get_bind()
    chosen: dict[int, list[str]] = {}
    rows = bind.execute(
        sa.select(connections.c.merchant_id, connections.c.invoice_methods)
        .where(connections.c.invoice_methods.is_not(None))
        .order_by(connections.c.id)
    )
    for merchant_id, methods in rows:
        chosen.setdefault(merchant_id, []).extend(methods or [])
    now = datetime.now(UTC)
    for merchant_id, methods in chosen.items():
        document = bind.execute(
            sa.select(policies.c.document).where(policies.c.merchant_id == merchant_id)
        ).scalar_one_or_none()
        if document is None:
            merged = list(dict.fromkeys([*PREVIOUS_DEFAULT, *methods]))
            bind.execute(
                policies.insert().values(
                    merchant_id=merchant_id, document={"invoice_methods": merged}, updated_at=now
                )
            )
            continue
        current = document.get("invoice_methods", PREVIOUS_DEFAULT)
        merged = list(dict.fromkeys([*current, *methods]))
        bind.execute(
            policies.update()
            .where(policies.c.merchant_id == merchant_id)
            .values(document={**document, "invoice_methods": merged}, updated_at=now)
        )
    with op.batch_alter_table("shop_connections", schema=None) as batch_op:
        batch_op.drop_column("invoice_methods")


def downgrade():
    with op.batch_alter_table("shop_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_methods", backend.types.JSONType, nullable=True))
