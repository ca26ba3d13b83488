"""A web worker's SQLite checkpoints run beside its requests (backend/sqlite_checkpoints.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from backend.extensions import db
from backend.sqlite_checkpoints import CHECKPOINT_THREAD, SAFETY_NET_PAGES, checkpoint_in_background
from tests.conftest import make_app
from tests.processes import wait_for


def test_the_log_is_copied_into_the_database_outside_the_commits(tmp_path: Path) -> None:
    database = tmp_path / "checkpoints.db"
    app = make_app(f"sqlite:///{database}", tmp_path / "instance")
    stop = checkpoint_in_background(app)
    assert stop is not None
    try:
        with app.app_context():
            assert db.session.scalar(sa.text("PRAGMA wal_autocheckpoint")) == SAFETY_NET_PAGES
            db.session.execute(sa.text("CREATE TABLE filler (b BLOB)"))
            db.session.execute(sa.text("INSERT INTO filler VALUES (randomblob(1000000))"))
            db.session.commit()
            wait_for(
                lambda: database.stat().st_size > 1_000_000, "the WAL checkpointed into the database file"
            )
            db.session.remove()
    finally:
        stop()
    checkpointers = [thread for thread in threading.enumerate() if thread.name == CHECKPOINT_THREAD]
    for thread in checkpointers:
        thread.join(timeout=5)
    assert checkpointers and not any(thread.is_alive() for thread in checkpointers)


def test_another_apps_database_is_left_alone(tmp_path: Path) -> None:
    app = Flask("other")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'other.db'}"
    other = SQLAlchemy(app)
    assert checkpoint_in_background(app) is None
    with app.app_context():
        assert other.session.scalar(sa.text("PRAGMA wal_autocheckpoint")) == 1000
        other.engine.dispose()
