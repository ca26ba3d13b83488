"""lawful dunning: grace period and letter cost per schedule, letter channel, fees only on letters, proof of sending

Stages that send an e-mail, a shop reminder or nothing through ClaimBridge lose their fee: only the actual cost
of a letter is recoverable (the old default schedule charged 2.50 per e-mail).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 16:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_CHANNELS = "channel IN ('email', 'shop', 'none')"
NEW_CHANNELS = "channel IN ('email', 'shop', 'letter', 'none')"


def _replace_channel_check(table: str, check: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_channel"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_channel"), check)


def upgrade():
    with op.batch_alter_table("dunning_schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grace_banking_days", sa.Integer(), server_default="2", nullable=False))
        batch_op.add_column(
            sa.Column("letter_cost", backend.types.Money, server_default="1.00", nullable=False)
        )
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
    _replace_channel_check("dunning_stages", NEW_CHANNELS)
    _replace_channel_check("dunning_notices", NEW_CHANNELS)
    stages = sa.table("dunning_stages", sa.column("channel"), sa.column("fee", backend.types.Money))
    op.execute(stages.update().where(stages.c.channel != "letter").values(fee=0))


def downgrade():
    notices = sa.table("dunning_notices", sa.column("channel"))
    stages = sa.table("dunning_stages", sa.column("channel"))
    op.execute(notices.update().where(notices.c.channel == "letter").values(channel="none"))
    op.execute(stages.update().where(stages.c.channel == "letter").values(channel="none"))
    _replace_channel_check("dunning_notices", OLD_CHANNELS)
    _replace_channel_check("dunning_stages", OLD_CHANNELS)
    with op.batch_alter_table("handovers", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
    with op.batch_alter_table("dunning_notices", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
    with op.batch_alter_table("dunning_schedules", schema=None) as batch_op:
        batch_op.drop_column("letter_cost")
        batch_op.drop_column("grace_banking_days")
