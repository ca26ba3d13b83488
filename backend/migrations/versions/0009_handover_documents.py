"""handover documents and withdrawal: the document sent with each case, and who withdrew a submitted case

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00

"""

import sqlalchemy as sa
from alembic import op

import backend.types

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("handovers") as batch:
        batch.add_column(sa.Column("document_source", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("document_note", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", backend.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=300), nullable=True))
    with op.batch_alter_table("agency_cases") as batch:
        batch.add_column(sa.Column("document_content", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("document_filename", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("document_mime_type", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("agency_cases") as batch:
        batch.drop_column("document_mime_type")
        batch.drop_column("document_filename")
        batch.drop_column("document_content")
    with op.batch_alter_table("handovers") as batch:
        batch.drop_column("withdrawn_by")
        batch.drop_column("withdrawn_at")
        batch.drop_column("document_note")
        batch.drop_column("document_source")
