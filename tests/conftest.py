"""Shared fixtures: the app on SQLite and PostgreSQL, a client, factories, and a network guard."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from backend import create_app
from backend.auth.services import create_client as create_api_client_service
from backend.cli import main
from backend.extensions import db as _db
from backend.extensions import limiter
from backend.merchants.models import Merchant
from backend.merchants.policy_store import policy_cache
from backend.merchants.services import create_merchant as create_merchant_service
from backend.risk.services import close_bureau_clients

PG_ENV = "CLAIMBRIDGE_TEST_DATABASE_URL"
BACKENDS = ("sqlite", "postgresql")


# -- network guard -------------------------------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}; use a local server")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that connects anywhere but loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))


# -- databases -----------------------------------------------------------------------------------------------


def _test_run_id() -> str:
    """Name this test run: the xdist controller's pid (shared by its workers) plus the worker id."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{os.getppid()}_{worker}" if worker else str(os.getpid())


def _postgres_url(run_id: str) -> str:
    """Create a fresh database for this test run and worker, so parallel runs never share one."""
    base = sa.make_url(os.environ[PG_ENV].replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"claimbridge_test_{run_id}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Each database test runs on SQLite and, when CLAIMBRIDGE_TEST_DATABASE_URL is set, on PostgreSQL."""
    if request.param == "postgresql":
        if not os.environ.get(PG_ENV):
            pytest.skip(f"{PG_ENV} is not set (CI sets it; see README)")
        url = _postgres_url(_test_run_id())
        yield url
        _drop_postgres_database(url)
        return
    yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'claimbridge.db'}"


def _drop_postgres_database(url: str) -> None:
    parsed = sa.make_url(url)
    admin = sa.make_url(os.environ[PG_ENV]).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def make_app(database_url: str, instance_path: Path, **overrides: Any) -> Flask:
    """Build an app for tests, with its own instance folder."""
    config = {
        "CLAIMBRIDGE_ENV": "testing",
        "CLAIMBRIDGE_DATABASE_URL": database_url,
        "CLAIMBRIDGE_INSTANCE_PATH": str(instance_path),
        "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "true",
        "CLAIMBRIDGE_PUBLIC_URL": "http://127.0.0.1:5000",
        # Nothing listens on the discard port: a sync that is not pointed at a test server fails at once.
        "CLAIMBRIDGE_BASE_RATE_URL": "http://127.0.0.1:9/rest/data/BBIN1/M.DE.BBK.BBKBAS2.EUR.ME",
        **overrides,
    }
    return create_app(config)


@pytest.fixture(scope="session")
def _session_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


def _empty_all_tables() -> None:
    tables = [t for t in reversed(_db.metadata.sorted_tables)]
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        # The audit trail's triggers refuse deletes (append-only); lift them for this clean-up only.
        triggers = _db.session.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
            )
        ).all()
        for name, _ in triggers:
            _db.session.execute(sa.text(f'DROP TRIGGER "{name}"'))
        for table in tables:
            _db.session.execute(table.delete())
        for _, sql in triggers:
            _db.session.execute(sa.text(sql))
    _db.session.commit()


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The app inside an app context; every table is emptied after the test."""
    with _session_app.app_context():
        limiter.reset()
        policy_cache.clear()
        close_bureau_clients()
        yield _session_app
        _db.session.rollback()
        _empty_all_tables()
        _db.session.remove()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip werkzeug's access log: its lines carry query strings (signatures, session tokens)."""


@pytest.fixture
def live_server_url(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def run(app: Flask) -> Callable[..., Any]:
    """Return a function running a ``claimbridge`` command against the test app."""
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)

    return invoke


# -- factories -----------------------------------------------------------------------------------------------


@pytest.fixture
def create_merchant(app: Flask) -> Callable[..., Merchant]:
    def factory(name: str = "Beispiel Shop GmbH") -> Merchant:
        merchant = create_merchant_service(name, actor="test")
        _db.session.commit()
        return merchant

    return factory


@pytest.fixture
def merchant(create_merchant: Callable[..., Merchant]) -> Merchant:
    return create_merchant()


@pytest.fixture
def create_credentials(app: Flask) -> Callable[..., tuple[str, str]]:
    """Return a factory creating an API client; it yields (client_id, client_secret)."""

    def factory(
        merchant: Merchant, scopes: str = "risk:check orders:write handovers:read"
    ) -> tuple[str, str]:
        new = create_api_client_service(merchant.id, scopes, name="test", actor="test")
        _db.session.commit()
        return new.client.client_id, new.client_secret

    return factory


@pytest.fixture
def auth_headers(
    client: FlaskClient, create_credentials: Callable[..., tuple[str, str]]
) -> Callable[..., dict[str, str]]:
    """Return a factory giving Authorization headers with a real token for a merchant and scopes."""

    def factory(merchant: Merchant, scopes: str = "risk:check orders:write handovers:read") -> dict[str, str]:
        client_id, secret = create_credentials(merchant, scopes)
        response = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return factory


# -- CI: no skips --------------------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when CLAIMBRIDGE_TEST_FORBID_SKIPS is set and any test was skipped (CI sets it)."""
    if not os.environ.get("CLAIMBRIDGE_TEST_FORBID_SKIPS") or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"{skipped} test(s) skipped, but CLAIMBRIDGE_TEST_FORBID_SKIPS is set", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the SQLite variant of tests marked ``postgres_only`` (not a skip: there is nothing to run)."""
    kept = [
        item for item in items if not (item.get_closest_marker("postgres_only") and "[sqlite]" in item.nodeid)
    ]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
