"""``claimbridge doctor``: one pass/warn/fail line per check, exit 1 when anything the backend needs fails."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask.cli import ScriptInfo
from flask_migrate import upgrade

from backend.cli import main
from backend.woocommerce.models import WebhookTopic
from tests.conftest import make_app
from tests.fakes.smtp import FakeSmtpServer
from tests.orders.support import CONNECT_SCOPES, connect, shopware, woocommerce  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def lines(result, status: str) -> list[str]:
    """Return the report's lines of one status, without the status word."""
    return [line[6:] for line in result.output.splitlines() if line.startswith(status.upper() + " ")]


def line_of(result, check: str) -> str:
    found = [line for line in result.output.splitlines() if line[6:].startswith(check)]
    assert found, result.output
    return found[0]


@pytest.fixture
def smtp():
    server = FakeSmtpServer(users={"mahnung": "richtig"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def configured(app, monkeypatch):
    """Set a config value for one test."""

    def setting(name, value):
        monkeypatch.setitem(app.config, name, value)

    return setting


@pytest.fixture
def connected_woocommerce(client, merchant, auth_headers, woocommerce):  # noqa: F811
    response = connect(client, auth_headers(merchant, CONNECT_SCOPES), woocommerce, "woocommerce")
    assert response.status_code == 201, response.get_json()
    return woocommerce, response.get_json()["id"]


def test_a_working_backend_passes_every_check(run, configured, smtp, connected_woocommerce):
    _, connection_id = connected_woocommerce
    configured(
        "CLAIMBRIDGE_SMTP_URL", smtp.url(user="mahnung", password="richtig", sender="mahnung@shop.example")
    )
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert line_of(result, "smtp").startswith("PASS") and "logged in" in line_of(result, "smtp")
    assert line_of(result, "migrations").startswith("PASS")
    assert line_of(result, f"connection {connection_id} webhooks").startswith("PASS")
    assert "4 active in the shop" in line_of(result, f"connection {connection_id} webhooks")
    assert lines(result, "fail") == []
    assert smtp.messages == []  # nothing is sent
    # base rate: the test clock's half-year is not in the bundled table, which is a warning, not a failure
    assert line_of(result, "base rate").startswith("WARN")
    assert run("doctor", "--strict").exit_code == 1


def test_smtp_that_refuses_the_login_fails(run, configured, smtp):
    configured("CLAIMBRIDGE_SMTP_URL", smtp.url(user="mahnung", password="falsch", sender="m@shop.example"))
    result = run("doctor")
    assert result.exit_code == 1
    assert line_of(result, "smtp").startswith("FAIL") and "rejected the login" in line_of(result, "smtp")
    assert "falsch" not in result.output


def test_a_disabled_webhook_and_a_shop_refusing_the_key_fail(run, db, connected_woocommerce):
    shop, connection_id = connected_woocommerce
    hook = next(h for h in shop.fake.webhooks.values() if h["topic"] == "order.updated")
    hook["status"] = "disabled"
    result = run("doctor")
    assert result.exit_code == 1
    assert "order.updated: disabled" in line_of(result, f"connection {connection_id} webhooks")
    before = {row.topic: row.status_in_shop for row in db.session.scalars(sa.select(WebhookTopic))}
    assert before["order.updated"] == "active"  # the doctor reports; it does not write or heal

    shop.fake.consumer_secret = "cs_" + "9" * 40
    result = run("doctor")
    assert result.exit_code == 1
    assert line_of(result, f"connection {connection_id} ").startswith("FAIL")
    assert "AuthError" in line_of(result, f"connection {connection_id} ")


def test_secrets_under_an_older_key_warn_until_rotated(run, app, configured, connected_woocommerce):
    configured(
        "CLAIMBRIDGE_ENCRYPTION_KEYS",
        [Fernet.generate_key().decode(), *app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]],
    )
    result = run("doctor")
    assert line_of(result, "stored secrets").startswith("WARN") and "keys rotate" in line_of(
        result, "stored secrets"
    )
    assert run("keys", "rotate").exit_code == 0
    assert "older keys may be removed" in line_of(run("doctor"), "stored secrets")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def redis_url(tmp_path):
    """A real Redis (Debian's redis-server) on a free loopback port, without persistence."""
    port = _free_port()
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _listening(port):
        assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


def test_the_rate_limit_store_is_reached_or_fails(run, configured, redis_url):
    configured("RATELIMIT_STORAGE_URI", redis_url)
    configured("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 2})
    assert line_of(run("doctor"), "rate-limit store").startswith("PASS")
    configured("RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{_free_port()}/0")  # nobody listens there
    result = run("doctor")
    assert result.exit_code == 1
    assert line_of(result, "rate-limit store").startswith("FAIL")


def _doctor_on(app):
    return CliRunner().invoke(
        main, ["doctor"], obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False
    )


def test_a_database_without_tables_or_behind_the_code_fails(tmp_path):
    fresh = make_app(f"sqlite:///{tmp_path}/fresh.db", tmp_path)
    result = _doctor_on(fresh)
    assert result.exit_code == 1
    assert "run `claimbridge db upgrade`" in line_of(result, "migrations")
    assert line_of(result, "connections").startswith("FAIL")  # not checked without tables
    with fresh.app_context():
        upgrade(revision="0017")
    result = _doctor_on(fresh)
    assert "database at 0017" in line_of(result, "migrations") and result.exit_code == 1
    with fresh.app_context():
        upgrade()
    assert _doctor_on(fresh).exit_code == 0


def test_an_invalid_setting_is_a_failing_line_not_a_traceback(tmp_path):
    def broken():
        return make_app(f"sqlite:///{tmp_path}/x.db", tmp_path, CLAIMBRIDGE_ENCRYPTION_KEY="not-a-key")

    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=broken), catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "FAIL  configuration                CLAIMBRIDGE_ENCRYPTION_KEY: key 1 is not a valid Fernet key"
    ]


def test_works_on_a_fresh_install_as_the_quick_start_makes_it(tmp_path):
    env = {**os.environ, "CLAIMBRIDGE_INSTANCE_PATH": str(tmp_path)}
    env.pop("CLAIMBRIDGE_DATABASE_URL", None)
    claimbridge = str(Path(sys.executable).parent / "claimbridge")

    def doctor():
        return subprocess.run([claimbridge, "doctor"], env=env, cwd=ROOT, capture_output=True, text=True)

    before = doctor()
    assert before.returncode == 1 and "run `claimbridge db upgrade`" in before.stdout
    subprocess.run([claimbridge, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, check=True)
    subprocess.run([claimbridge, "demo"], env=env, cwd=ROOT, capture_output=True, check=True)
    after = doctor()
    assert after.returncode == 0, after.stdout + after.stderr
    assert "PASS  migrations" in after.stdout and "orders arrive through the API" in after.stdout


@pytest.mark.parametrize(
    ("env", "status", "says"),
    [
        ("production", "FAIL", "not served (404)"),
        ("testing", "WARN", "not served (404)"),
        ("development", "WARN", "loopback"),
    ],
)
def test_metrics_without_a_token_warn_and_fail_in_production(run, configured, env, status, says):
    configured("CLAIMBRIDGE_ENV", env)
    configured("CLAIMBRIDGE_METRICS_TOKEN", None)
    line = line_of(run("doctor"), "metrics")
    assert line.startswith(status) and says in line and "CLAIMBRIDGE_METRICS_TOKEN" in line
    configured("CLAIMBRIDGE_METRICS_TOKEN", "prometheus-scrape-token-1")
    assert "metrics " not in run("doctor").output
