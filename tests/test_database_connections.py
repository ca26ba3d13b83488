"""Pooled PostgreSQL connections that the server ended are never handed to a request (``backend/app.py``)."""

from __future__ import annotations

import psycopg
import pytest

from tests.processes import wait_for
from tests.risk.conftest import CLEAN_PAYLOAD


@pytest.mark.postgres_only  # SQLite has no server that ends connections
def test_a_request_after_the_server_ended_the_pooled_connections_succeeds(
    app, db, client, merchant, auth_headers
):
    headers = auth_headers(merchant, "risk:check")
    assert client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=headers).status_code == 201
    db.session.remove()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    with psycopg.connect(url, autocommit=True) as admin:
        ended = admin.execute(f"SELECT count(pg_terminate_backend(pid)) {others}").fetchone()[0]
        assert ended >= 1
        wait_for(
            lambda: admin.execute(f"SELECT count(*) {others}").fetchone()[0] == 0, "the ended connections"
        )
    assert client.post("/api/v1/risk-checks", json=CLEAN_PAYLOAD, headers=headers).status_code == 201
