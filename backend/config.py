"""Configuration from ``CLAIMBRIDGE_*`` environment variables, validated once at start-up."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from backend.sqlite_writers import QueuedWriterConnection

logger = logging.getLogger(__name__)

ENV_PREFIX = "CLAIMBRIDGE_"
# The Bundesbank's §247 BGB base-rate series, read by connectors.bundesbank. Its address lives here, not there:
# importing the connector brings requests, which a command's start-up need not load.
BASE_RATE_URL = "https://api.statistiken.bundesbank.de/rest/data/BBIN1/M.DE.BBK.BBKBAS2.EUR.ME"
# Booking vouchers (a bank statement line among them) are kept 8 full years after the year booked (§ 147(3) AO).
VOUCHER_RETENTION_YEARS = 8
ENVIRONMENTS = ("development", "production", "testing")
LOG_FORMATS = ("text", "json")
# The secret committed in plugins/shopware/manifest.xml; every operator renders a manifest with their own.
SHOPWARE_PLACEHOLDER_SECRET = "PLACEHOLDER-generate-your-own-with-claimbridge-shopware-manifest"  # noqa: S105
MIN_RECONCILE_SECONDS = 60
# About as many requests as a gevent worker of the benchmarks has in flight at once (docs/benchmarks.md).
DEFAULT_POOL_SIZE = 20


class ConfigError(Exception):
    """One or more configuration values are unusable; the message names each of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    """One documented setting: its env name (without prefix), default and meaning."""

    name: str
    default: str | None
    help: str
    secret: bool = False


# The README's configuration table is generated from this list (`claimbridge config`), so they never drift.
SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "development, production or testing; production requires real secrets"),
    Setting(
        "INSTANCE_PATH",
        None,
        "folder for the SQLite file and generated development secrets; default: instance/",
    ),
    Setting("DATABASE_URL", None, "SQLAlchemy URL; default: SQLite file instance/claimbridge.db"),
    Setting(
        "DATABASE_POOL_SIZE",
        str(DEFAULT_POOL_SIZE),
        "database connections each process keeps open for its requests (up to 10 more open and close for a "
        "burst); on PostgreSQL keep processes times (size + 10) under the server's max_connections",
    ),
    Setting("SECRET_KEY", None, "signs session tokens; generated into instance/ in development", secret=True),
    Setting(
        "ENCRYPTION_KEY",
        None,
        "Fernet key(s), comma-separated newest first, encrypting shop credentials; generated in development",
        secret=True,
    ),
    Setting(
        "IDENTITY_KEY",
        None,
        "HMAC key for buyer identity hashes (risk history without raw data); generated in development",
        secret=True,
    ),
    Setting("PUBLIC_URL", "http://127.0.0.1:5000", "the backend's externally reachable base URL"),
    Setting("ALLOW_PRIVATE_URLS", "false", "allow loopback/private shop URLs (development and tests only)"),
    Setting("LOG_FORMAT", "text", "text or json (one JSON object per line)"),
    Setting("LOG_LEVEL", "INFO", "Python logging level"),
    Setting(
        "RATELIMIT_STORAGE_URL",
        "memory://",
        "rate-limit storage; memory:// counts in each process (every gunicorn worker), so use redis://… with more than one worker or machine",
    ),
    Setting("TOKEN_RATE_LIMIT", "30/minute", "token endpoint limit, applied per client and per address"),
    Setting(
        "PROXY_COUNT",
        "0",
        "reverse proxies in front of the app whose X-Forwarded-For is trusted, so rate limits and logs see the "
        "client's address; 0 when clients connect directly (the header is then ignored)",
    ),
    Setting("TOKEN_LIFETIME", "3600", "access token lifetime in seconds"),
    Setting("MAX_CONTENT_LENGTH", "1048576", "largest accepted request body in bytes"),
    Setting("WORKER_INTERVAL", "30", "seconds the worker sleeps between rounds"),
    Setting(
        "RECONCILE_INTERVAL",
        "600",
        f"seconds between polls of every shop for orders a lost webhook missed (at least {MIN_RECONCILE_SECONDS})",
    ),
    Setting("HANDOVER_JOB_SECONDS", "60", "seconds between runs of the handover and shop-write jobs"),
    Setting(
        "HANDOVER_LEASE_SECONDS",
        "300",
        "seconds a worker holds a handover or shop write it is sending before another worker may retry it",
    ),
    Setting(
        "CONNECTOR_TIMEOUT",
        "30",
        "seconds a shop or collection agency may take to answer one request before the worker retries later",
    ),
    Setting("SHOPWARE_APP_NAME", "ClaimBridge", "the Shopware app's technical name (manifest <meta><name>)"),
    Setting(
        "SHOPWARE_APP_SECRET",
        None,
        "the Shopware app secret (manifest <setup><secret>, 32+ characters); required in production",
        secret=True,
    ),
    Setting("BUREAU_TIMEOUT", "1.5", "seconds a credit bureau may take inside a risk check (total budget)"),
    Setting("PAYONE_URL", "https://api.pay1.de/post-gateway/", "PAYONE Server API endpoint"),
    Setting(
        "SMTP_URL",
        None,
        "dunning e-mail server, smtp:// smtp+starttls:// or smtps://user:pass@host:port (unset: no e-mail)",
        secret=True,
    ),
    Setting("MAIL_FROM", None, "sender address of dunning e-mails (the merchant's name is shown with it)"),
    Setting(
        "BANK_TRANSACTION_RETENTION_YEARS",
        "8",
        "full calendar years imported bank transactions are kept after the year they were booked (§147 AO: "
        "booking vouchers, 8 years since 2025), then deleted; at least 8 (lower is refused at start-up)",
    ),
    Setting(
        "PAYER_DATA_RETENTION_DAYS",
        "180",
        "days payer IBANs learned from matches are kept (an unmatched transfer's payer data is part of its "
        "booking voucher and kept with it)",
    ),
    Setting(
        "METRICS_TOKEN",
        None,
        "bearer token Prometheus sends to /metrics (16+ characters); unset: /metrics is not served (404), except "
        "to loopback clients in development",
        secret=True,
    ),
    Setting(
        "BASE_RATE_URL",
        BASE_RATE_URL,
        "the Deutsche Bundesbank's §247 BGB base-rate series (SDMX-CSV), read weekly by `claimbridge rates sync`",
    ),
)


@dataclass
class Config:
    """The validated settings, turned into Flask config keys by :meth:`to_flask`."""

    env: str
    database_url: str
    database_pool_size: int
    secret_key: str
    encryption_keys: list[str]
    identity_key: str
    public_url: str
    allow_private_urls: bool
    log_format: str
    log_level: str
    ratelimit_storage_url: str
    token_rate_limit: str
    proxy_count: int
    token_lifetime: int
    max_content_length: int
    worker_interval: int
    reconcile_interval: int
    handover_job_seconds: int
    handover_lease_seconds: int
    connector_timeout: float
    shopware_app_name: str
    shopware_app_secret: str | None
    bureau_timeout: float
    payone_url: str
    smtp_url: str | None = None
    mail_from: str | None = None
    base_rate_url: str = BASE_RATE_URL
    metrics_token: str | None = None
    bank_transaction_retention_years: int = VOUCHER_RETENTION_YEARS
    payer_data_retention_days: int = 180
    extra: dict[str, Any] = field(default_factory=dict)

    def to_flask(self) -> dict[str, Any]:
        """Return the Flask config mapping."""
        # PostgreSQL: dropped connections are refused at checkout (app.py). A gevent worker serves many requests
        # at once; with fewer pooled connections than that (SQLAlchemy's default is 5), each request beyond them
        # opened a connection and closed it again, a server process forked each time: a short risk-check run
        # opened 350 connections with 5 pooled, 53 with 20.
        engine_options: dict[str, Any] = {"pool_size": self.database_pool_size}
        if self.database_url.startswith("sqlite"):
            # Writers of several processes queue on a lock file instead of sleeping in SQLite's busy handler.
            # The pool is as large as on PostgreSQL: requests waiting for the writer lock hold their connection,
            # and with SQLAlchemy's 5 the others opened and closed SQLite connections, whose first statements met
            # SQLITE_BUSY and slept in SQLite's busy handler (1 + 2 + 5 + 10 + 15 ms), stopping the whole worker.
            engine_options["connect_args"] = {"timeout": 10, "factory": QueuedWriterConnection}
        return {
            "CLAIMBRIDGE_ENV": self.env,
            "TESTING": self.env == "testing",
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "CLAIMBRIDGE_ENCRYPTION_KEYS": self.encryption_keys,
            "CLAIMBRIDGE_IDENTITY_KEY": self.identity_key.encode(),
            "CLAIMBRIDGE_PUBLIC_URL": self.public_url,
            "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": self.allow_private_urls,
            "CLAIMBRIDGE_LOG_FORMAT": self.log_format,
            "CLAIMBRIDGE_LOG_LEVEL": self.log_level,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
            # A Redis that hangs must not hang the token endpoint: give up fast, fall back to memory.
            "RATELIMIT_STORAGE_OPTIONS": (
                {"socket_connect_timeout": 1, "socket_timeout": 2}
                if self.ratelimit_storage_url.startswith(("redis://", "rediss://"))
                else {}
            ),
            "RATELIMIT_HEADERS_ENABLED": True,
            "CLAIMBRIDGE_TOKEN_RATE_LIMIT": self.token_rate_limit,
            "CLAIMBRIDGE_PROXY_COUNT": self.proxy_count,
            "OAUTH2_TOKEN_EXPIRES_IN": {"client_credentials": self.token_lifetime},
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "CLAIMBRIDGE_WORKER_INTERVAL": self.worker_interval,
            "CLAIMBRIDGE_RECONCILE_INTERVAL": timedelta(seconds=self.reconcile_interval),
            "CLAIMBRIDGE_HANDOVER_JOB_INTERVAL": timedelta(seconds=self.handover_job_seconds),
            "CLAIMBRIDGE_HANDOVER_LEASE": timedelta(seconds=self.handover_lease_seconds),
            "CLAIMBRIDGE_CONNECTOR_TIMEOUT": self.connector_timeout,
            "CLAIMBRIDGE_SHOPWARE_APP_NAME": self.shopware_app_name,
            "CLAIMBRIDGE_SHOPWARE_APP_SECRET": self.shopware_app_secret,
            "CLAIMBRIDGE_BUREAU_TIMEOUT": self.bureau_timeout,
            "CLAIMBRIDGE_PAYONE_URL": self.payone_url,
            "CLAIMBRIDGE_SMTP_URL": self.smtp_url,
            "CLAIMBRIDGE_MAIL_FROM": self.mail_from,
            "CLAIMBRIDGE_BASE_RATE_URL": self.base_rate_url,
            "CLAIMBRIDGE_METRICS_TOKEN": self.metrics_token,
            "CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS": self.bank_transaction_retention_years,
            "CLAIMBRIDGE_PAYER_DATA_RETENTION_DAYS": self.payer_data_retention_days,
            "API_TITLE": "ClaimBridge API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/",
            "OPENAPI_JSON_PATH": "openapi.json",
            # Swagger UI from npm's swagger-ui-dist, vendored into backend/static (scripts/vendor-swagger-ui).
            "OPENAPI_SWAGGER_UI_PATH": "/docs",
            "OPENAPI_SWAGGER_UI_URL": "/static/swagger-ui/",
            "JSON_SORT_KEYS": False,
            **self.extra,
        }


def _parse_bool(name: str, raw: str, problems: list[str]) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    problems.append(f"{ENV_PREFIX}{name}={raw!r}: expected true or false")
    return False


def _parse_int(name: str, raw: str, problems: list[str], minimum: int = 1, why: str = "") -> int:
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{ENV_PREFIX}{name}={raw!r}: expected a whole number")
        return minimum
    if value < minimum:
        problems.append(f"{ENV_PREFIX}{name}={raw!r}: must be at least {minimum}{f' ({why})' if why else ''}")
    return value


def _parse_seconds(name: str, raw: str, problems: list[str], maximum: float = 10) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= maximum:
        problems.append(f"{ENV_PREFIX}{name}={raw!r}: expected seconds between 0 and {maximum:g}")
    return value


def _parse_smtp_url(raw: str | None, problems: list[str]) -> str | None:
    if not raw or not raw.strip():
        return None
    # Here, not at the top: the mail connector brings requests and the email package, which a command that
    # sends no mail (a statement import, the worker without SMTP) need not load at start-up.
    from connectors.mail import SmtpSettings

    try:
        SmtpSettings.from_url(raw)
    except ValueError as error:  # the message never repeats the URL or its password
        problems.append(f"{ENV_PREFIX}SMTP_URL: {error}")
    return raw.strip()


def _parse_mail_from(raw: str | None, problems: list[str]) -> str | None:
    if not raw or not raw.strip():
        return None
    if "@" not in parseaddr(raw)[1]:
        problems.append(f"{ENV_PREFIX}MAIL_FROM={raw!r}: expected an e-mail address")
    return raw.strip()


def instance_path_from(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the instance folder named by the environment (read before the app, which needs it, exists)."""
    return (os.environ if environ is None else environ).get(ENV_PREFIX + "INSTANCE_PATH") or None


def describe_settings(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Return each setting's variable name and what it is set to (secrets only as "(set)")."""
    env_vars = os.environ if environ is None else environ
    described = []
    for setting in SETTINGS:
        name = ENV_PREFIX + setting.name
        value = env_vars.get(name)
        shown = "(set)" if setting.secret and value else (value or f"default: {setting.default or '—'}")
        described.append((name, shown))
    return described


def _instance_secret(instance_path: Path, filename: str, make: Any) -> str:
    """Read a development secret from instance/, creating it once so restarts keep it."""
    path = instance_path / filename
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        logger.info("generated development secret %s", path)
    return path.read_text().strip()


def load_config(instance_path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Build and validate the configuration; raise ConfigError listing every bad value."""
    env_vars = dict(os.environ if environ is None else environ)
    instance = Path(instance_path)

    def get(name: str) -> str | None:
        value = env_vars.get(ENV_PREFIX + name)
        if value is None:
            default = next(s.default for s in SETTINGS if s.name == name)
            return default
        return value

    problems: list[str] = []
    env = (get("ENV") or "development").strip().lower()
    if env not in ENVIRONMENTS:
        problems.append(f"{ENV_PREFIX}ENV={env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    production = env == "production"

    database_url = get("DATABASE_URL") or f"sqlite:///{(instance / 'claimbridge.db').as_posix()}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    if not database_url.startswith(("sqlite", "postgresql+psycopg://")):
        problems.append(f"{ENV_PREFIX}DATABASE_URL: only sqlite:/// and postgresql:// URLs are supported")

    secret_key = get("SECRET_KEY")
    if not secret_key:
        if production:
            problems.append(f"{ENV_PREFIX}SECRET_KEY is required in production")
            secret_key = ""
        else:
            secret_key = _instance_secret(instance, "secret_key", lambda: secrets.token_urlsafe(48))
    elif len(secret_key) < 32:
        problems.append(f"{ENV_PREFIX}SECRET_KEY must be at least 32 characters")

    raw_keys = get("ENCRYPTION_KEY")
    if not raw_keys:
        if production:
            problems.append(
                f"{ENV_PREFIX}ENCRYPTION_KEY is required in production "
                "(generate one with: claimbridge keys generate)"
            )
            raw_keys = ""
        else:
            raw_keys = _instance_secret(instance, "encryption_key", lambda: Fernet.generate_key().decode())
    encryption_keys = [key.strip() for key in raw_keys.split(",") if key.strip()]
    for position, key in enumerate(encryption_keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            problems.append(f"{ENV_PREFIX}ENCRYPTION_KEY: key {position} is not a valid Fernet key")

    identity_key = get("IDENTITY_KEY")
    if not identity_key:
        if production:
            problems.append(
                f"{ENV_PREFIX}IDENTITY_KEY is required in production (changing it resets risk history)"
            )
            identity_key = ""
        else:
            identity_key = _instance_secret(instance, "identity_key", lambda: secrets.token_urlsafe(32))
    elif len(identity_key) < 32:
        problems.append(f"{ENV_PREFIX}IDENTITY_KEY must be at least 32 characters")

    shopware_app_name = (get("SHOPWARE_APP_NAME") or "").strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", shopware_app_name):
        problems.append(
            f"{ENV_PREFIX}SHOPWARE_APP_NAME={shopware_app_name!r}: letters, digits and underscores, "
            "starting with a letter"
        )
    shopware_app_secret = (get("SHOPWARE_APP_SECRET") or "").strip() or None
    if shopware_app_secret is None:
        if production:
            problems.append(
                f"{ENV_PREFIX}SHOPWARE_APP_SECRET is required in production "
                "(generate one with: claimbridge keys generate)"
            )
    elif len(shopware_app_secret) < 32:
        problems.append(f"{ENV_PREFIX}SHOPWARE_APP_SECRET must be at least 32 characters")
    elif shopware_app_secret == SHOPWARE_PLACEHOLDER_SECRET:
        problems.append(f"{ENV_PREFIX}SHOPWARE_APP_SECRET is the committed placeholder; generate your own")

    public_url = (get("PUBLIC_URL") or "").rstrip("/")
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{ENV_PREFIX}PUBLIC_URL={public_url!r}: expected an absolute http(s) URL")
    elif production and parts.scheme != "https":
        problems.append(f"{ENV_PREFIX}PUBLIC_URL must use https in production")

    allow_private = _parse_bool("ALLOW_PRIVATE_URLS", get("ALLOW_PRIVATE_URLS") or "", problems)
    log_format = (get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        problems.append(f"{ENV_PREFIX}LOG_FORMAT={log_format!r}: expected text or json")
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(log_level), int):
        problems.append(f"{ENV_PREFIX}LOG_LEVEL={log_level!r}: not a logging level")

    metrics_token = (get("METRICS_TOKEN") or "").strip() or None
    if metrics_token is not None and len(metrics_token) < 16:
        problems.append(f"{ENV_PREFIX}METRICS_TOKEN must be at least 16 characters")

    config = Config(
        env=env,
        database_url=database_url,
        database_pool_size=_parse_int("DATABASE_POOL_SIZE", get("DATABASE_POOL_SIZE") or "", problems),
        secret_key=secret_key,
        encryption_keys=encryption_keys,
        identity_key=identity_key,
        public_url=public_url,
        allow_private_urls=allow_private,
        log_format=log_format,
        log_level=log_level,
        ratelimit_storage_url=get("RATELIMIT_STORAGE_URL") or "memory://",
        token_rate_limit=get("TOKEN_RATE_LIMIT") or "30/minute",
        proxy_count=_parse_int("PROXY_COUNT", get("PROXY_COUNT") or "", problems, minimum=0),
        token_lifetime=_parse_int("TOKEN_LIFETIME", get("TOKEN_LIFETIME") or "", problems, minimum=60),
        max_content_length=_parse_int("MAX_CONTENT_LENGTH", get("MAX_CONTENT_LENGTH") or "", problems),
        worker_interval=_parse_int("WORKER_INTERVAL", get("WORKER_INTERVAL") or "", problems),
        reconcile_interval=_parse_int(
            "RECONCILE_INTERVAL", get("RECONCILE_INTERVAL") or "", problems, minimum=MIN_RECONCILE_SECONDS
        ),
        handover_job_seconds=_parse_int("HANDOVER_JOB_SECONDS", get("HANDOVER_JOB_SECONDS") or "", problems),
        handover_lease_seconds=_parse_int(
            "HANDOVER_LEASE_SECONDS", get("HANDOVER_LEASE_SECONDS") or "", problems
        ),
        connector_timeout=_parse_seconds(
            "CONNECTOR_TIMEOUT", get("CONNECTOR_TIMEOUT") or "", problems, maximum=120
        ),
        shopware_app_name=shopware_app_name,
        shopware_app_secret=shopware_app_secret,
        bureau_timeout=_parse_seconds("BUREAU_TIMEOUT", get("BUREAU_TIMEOUT") or "", problems),
        payone_url=get("PAYONE_URL") or "",
        smtp_url=_parse_smtp_url(get("SMTP_URL"), problems),
        mail_from=_parse_mail_from(get("MAIL_FROM"), problems),
        base_rate_url=get("BASE_RATE_URL") or BASE_RATE_URL,
        metrics_token=metrics_token,
        bank_transaction_retention_years=_parse_int(
            "BANK_TRANSACTION_RETENTION_YEARS",
            get("BANK_TRANSACTION_RETENTION_YEARS") or "",
            problems,
            minimum=VOUCHER_RETENTION_YEARS,
            why="bank transactions are booking vouchers, kept 8 full years after the year booked, § 147(3) AO",
        ),
        payer_data_retention_days=_parse_int(
            "PAYER_DATA_RETENTION_DAYS", get("PAYER_DATA_RETENTION_DAYS") or "", problems
        ),
    )
    if problems:
        raise ConfigError(problems)
    return config
