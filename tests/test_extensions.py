"""Bulk-write helpers of backend.extensions that the imports lean on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.extensions import BULK_WRITE_CACHE_KIB, bulk_write_cache, keep_statistics

GROWING = sa.Table("growing", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("label", sa.Text))


def _add(db, start, count):
    db.session.execute(GROWING.insert(), [{"id": n, "label": f"n{n}"} for n in range(start, start + count)])


def _counted(db):
    return db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('growing')"))


class TestKeepStatistics:
    @pytest.mark.postgres_only  # SQLite keeps no row counts for its plans
    def test_analyzes_a_growing_table_once_per_doubling_on_postgresql(self, db):
        db.session.execute(sa.text("CREATE TEMPORARY TABLE growing (id integer, label text) ON COMMIT DROP"))
        _add(db, 0, 100)
        keep_statistics(GROWING, ("label",), added=100)  # never analyzed: no statistics to trust
        assert _counted(db) == 100

        _add(db, 100, 50)
        keep_statistics(GROWING, ("label",), added=150)  # more added than counted: analyze again
        assert _counted(db) == 150
        _add(db, 150, 100)
        keep_statistics(GROWING, ("label",), added=150)  # 250 rows, 150 counted: not yet doubled
        assert _counted(db) == 150
        keep_statistics(GROWING, ("label",), added=250)
        assert _counted(db) == 250


class TestBulkWriteCache:
    def test_a_bulk_write_gets_a_larger_sqlite_cache_and_gives_it_back(self, db):
        """On SQLite the connection's page cache grows for the import and shrinks after it, also on an error."""
        sqlite = db.session.get_bind().dialect.name == "sqlite"

        def cache_size():
            return db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None

        before = cache_size()
        with bulk_write_cache():
            assert cache_size() == (-BULK_WRITE_CACHE_KIB if sqlite else None)
        assert cache_size() == before
        with pytest.raises(RuntimeError), bulk_write_cache():
            raise RuntimeError("the import failed")
        assert cache_size() == before
