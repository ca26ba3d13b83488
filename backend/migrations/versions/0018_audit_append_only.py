"""audit trail append-only: the database refuses UPDATE and DELETE of audit events

An audit event may go only with its merchant (the purge cascade of a deleted merchant or uninstalled shop);
every other UPDATE or DELETE is refused by a trigger, on PostgreSQL and SQLite alike, whoever sends it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 19:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

POSTGRESQL_UP = (
    """
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND OLD.merchant_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM merchants WHERE id = OLD.merchant_id) THEN
            RETURN OLD;  -- the merchant is being purged; its trail goes with it
        END IF;
        RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
)
SQLITE_UP = (
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN OLD.merchant_id IS NULL OR EXISTS (SELECT 1 FROM merchants WHERE id = OLD.merchant_id)
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
    """,
)


def upgrade():
    statements = POSTGRESQL_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
