"""``claimbridge doctor``: check configuration, database, rate-limit store, SMTP, base rates and every shop.

Each check gives one line: ``pass``, ``warn`` (works, but someone should look) or ``fail`` (something the
backend needs does not work), with what was found and what to do. Nothing is changed anywhere: no mail is
sent, no webhook re-registered, no migration run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from limits.storage import storage_from_string

from backend.app import MIGRATIONS_DIR
from backend.crypto import DecryptionError
from backend.dunning.rate_store import base_rate_status
from backend.extensions import db
from backend.merchants.connectors import connector_for
from backend.merchants.models import ShopConnection
from backend.ops.keys import rotate_stored_secrets
from backend.shopware.models import ShopwareShop
from backend.woocommerce.services import connection_problems, webhooks_in_shop
from connectors import errors as shop_errors
from connectors.mail import MailError, SmtpMailer

PASS, WARN, FAIL = "pass", "warn", "fail"
SHOP_TIMEOUT = 10.0  # seconds per call to a shop; the doctor is run by a person who is waiting


@dataclass(frozen=True)
class Finding:
    """The outcome of one check."""

    status: str
    check: str
    detail: str

    def line(self) -> str:
        """Return the finding as one line of the doctor's report."""
        return f"{self.status.upper():<4}  {self.check:<28} {self.detail}"


def check_configuration() -> Iterator[Finding]:
    """Report the environment, the keys in use, and settings that are valid but risky."""
    config = current_app.config
    env = config["CLAIMBRIDGE_ENV"]
    keys = len(config["CLAIMBRIDGE_ENCRYPTION_KEYS"])
    yield Finding(PASS, "configuration", f"{env}; every setting valid; {keys} encryption key(s)")
    if env != "production":
        yield Finding(
            WARN, "configuration", f"{env} mode: secrets are generated into {current_app.instance_path}"
        )
    if not config["CLAIMBRIDGE_METRICS_TOKEN"]:
        yield Finding(
            FAIL if env == "production" else WARN,
            "metrics",
            "CLAIMBRIDGE_METRICS_TOKEN is not set: /metrics answers loopback clients only (a reverse proxy on this "
            "host makes every client loopback)"
            if env == "development"
            else "CLAIMBRIDGE_METRICS_TOKEN is not set: /metrics is not served (404), nothing can be monitored",
        )
    if config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"] and env == "production":
        yield Finding(
            WARN,
            "configuration",
            "CLAIMBRIDGE_ALLOW_PRIVATE_URLS is on: shops may point at private addresses",
        )


def check_database() -> Iterator[Finding]:
    """Reach the database and compare its migration with the code's."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        connection = db.session.connection()
        current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        yield Finding(FAIL, "database", f"{db.engine.dialect.name} does not answer: {type(error).__name__}")
        return
    yield Finding(PASS, "database", f"{db.engine.dialect.name} answers")
    heads = ScriptDirectory(MIGRATIONS_DIR).get_heads()
    if current is None:
        yield Finding(FAIL, "migrations", "the database has no tables yet: run `claimbridge db upgrade`")
    elif current not in heads:
        yield Finding(
            FAIL,
            "migrations",
            f"database at {current}, code at {', '.join(heads)}: run `claimbridge db upgrade`",
        )
    else:
        yield Finding(PASS, "migrations", f"current ({current})")


def check_encrypted_secrets() -> Iterator[Finding]:
    """Say whether every stored secret opens, and whether older keys are still needed."""
    keys = current_app.config["CLAIMBRIDGE_ENCRYPTION_KEYS"]
    report = rotate_stored_secrets(dry_run=True)
    waiting = sum(report.rotated.values())
    if report.unreadable:
        yield Finding(
            FAIL,
            "stored secrets",
            f"{len(report.unreadable)} open with no configured key, e.g. {report.unreadable[0]}",
        )
    elif waiting:
        yield Finding(
            WARN, "stored secrets", f"{waiting} still under an older key: run `claimbridge keys rotate`"
        )
    elif len(keys) > 1:
        yield Finding(WARN, "stored secrets", "all under the newest key: the older keys may be removed")
    else:
        yield Finding(
            PASS, "stored secrets", f"{sum(report.current.values())} stored, all under the newest key"
        )


def check_rate_limit_store() -> Iterator[Finding]:
    """Reach the rate-limit store the token endpoint counts in."""
    url = current_app.config["RATELIMIT_STORAGE_URI"]
    scheme = url.split("://", 1)[0]
    if scheme == "memory":
        yield Finding(
            PASS, "rate-limit store", "memory:// (counts per process; use redis:// with more than one)"
        )
        return
    try:
        reachable = storage_from_string(url, **current_app.config["RATELIMIT_STORAGE_OPTIONS"]).check()
    except Exception as error:  # any client library error means the same: the store is not usable
        reachable, detail = False, type(error).__name__
    else:
        detail = "no answer"
    if reachable:
        yield Finding(PASS, "rate-limit store", f"{scheme}:// answers")
    else:
        yield Finding(
            FAIL,
            "rate-limit store",
            f"{scheme}:// does not answer ({detail}); limits fall back to per-process counting",
        )


def check_smtp() -> Iterator[Finding]:
    """Connect and log in to the dunning mail server without sending anything."""
    url = current_app.config["CLAIMBRIDGE_SMTP_URL"]
    if not url:
        yield Finding(
            WARN, "smtp", "CLAIMBRIDGE_SMTP_URL is not set: dunning notices cannot go out by e-mail"
        )
        return
    mailer = SmtpMailer.from_url(url)
    where = f"{mailer.settings.host}:{mailer.settings.port}"
    try:
        mailer.check()
    except MailError as error:
        yield Finding(FAIL, "smtp", str(error))
        return
    yield Finding(
        PASS,
        "smtp",
        f"{where} accepts us ({mailer.settings.security}{', logged in' if mailer.settings.username else ''})",
    )
    if not (current_app.config["CLAIMBRIDGE_MAIL_FROM"] or mailer.sender):
        yield Finding(FAIL, "smtp", "no sender: set CLAIMBRIDGE_MAIL_FROM")


def check_base_rate() -> Iterator[Finding]:
    """Say whether the current half-year's base rate (§247 BGB) is known."""
    status = base_rate_status()
    yield Finding(PASS if status["status"] == "ok" else WARN, "base rate", str(status["message"]))


def _check_woocommerce(connection: ShopConnection, connector: object) -> Iterator[Finding]:
    name = f"connection {connection.id} webhooks"
    statuses = webhooks_in_shop(connection, connector)  # type: ignore[arg-type]
    bad = {topic: status for topic, status in statuses.items() if status != "active"}
    if bad:
        shown = ", ".join(f"{topic}: {status or 'missing'}" for topic, status in sorted(bad.items()))
        yield Finding(FAIL, name, f"{shown} (the next reconciliation re-creates or re-enables them)")
    else:
        yield Finding(PASS, name, f"{len(statuses)} active in the shop")
    for problem in connection_problems(connection):
        if problem["code"] not in (
            "webhook_disabled",
            "webhook_missing",
        ):  # reported above, as the shop says now
            yield Finding(WARN, name, f"{problem['message']} {problem['fix']}")


def _check_shopware(connection: ShopConnection) -> Iterator[Finding]:
    shop = db.session.scalar(sa.select(ShopwareShop).filter_by(connection_id=connection.id))
    name = f"connection {connection.id} app"
    if shop is None or shop.secret_encrypted is None:
        yield Finding(FAIL, name, "the shop never completed the app registration")
    elif shop.app_state != "active":
        yield Finding(
            FAIL, name, f"the app is {shop.app_state} in the shop: no webhooks, no checkout gateway"
        )
    else:
        yield Finding(
            PASS,
            name,
            f"active (Shopware {shop.app_version or 'version unknown'}), webhooks from the manifest",
        )


def check_connections() -> Iterator[Finding]:
    """Call every active shop with its stored credentials, and check its webhooks."""
    connections = db.session.scalars(
        sa.select(ShopConnection).where(ShopConnection.status == "active").order_by(ShopConnection.id)
    ).all()
    if not connections:
        yield Finding(PASS, "connections", "no active shop connection")
        return
    for connection in connections:
        label = f"connection {connection.id}"
        where = f"{connection.platform} {connection.shop_url} (merchant {connection.merchant_id})"
        if connection.platform == "api":
            yield Finding(PASS, label, f"{where}: orders arrive through the API, no shop to call")
            continue
        try:
            connector = connector_for(connection, timeout=SHOP_TIMEOUT, max_retries=0)
        except DecryptionError:
            yield Finding(FAIL, label, f"{where}: its credentials open with no configured key")
            continue
        try:
            connector.verify()
            yield Finding(PASS, label, f"{where}: credentials accepted")
            if connection.platform == "woocommerce":
                yield from _check_woocommerce(connection, connector)
            else:
                yield from _check_shopware(connection)
        except shop_errors.ConnectorError as error:
            yield Finding(FAIL, label, f"{where}: {type(error).__name__}: {error}")
        finally:
            connector.close()


CHECKS: tuple[Callable[[], Iterator[Finding]], ...] = (
    check_configuration,
    check_database,
    check_encrypted_secrets,
    check_rate_limit_store,
    check_smtp,
    check_base_rate,
    check_connections,
)


NEED_DATABASE = {
    check_encrypted_secrets: "stored secrets",
    check_base_rate: "base rate",
    check_connections: "connections",
}


def run_checks() -> Iterator[Finding]:
    """Run every check in order; once the database or its schema fails, skip the checks that need them."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # no "Context impl SQLiteImpl" lines in the report
    database_ok = True
    for check in CHECKS:
        if not database_ok and check in NEED_DATABASE:
            yield Finding(FAIL, NEED_DATABASE[check], "not checked: the database is not usable")
            continue
        for finding in check():
            if check is check_database and finding.status == FAIL:
                database_ok = False
            yield finding
    db.session.rollback()
