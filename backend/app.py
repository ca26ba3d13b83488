"""The application factory."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request
from flask.sessions import NullSession, SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from backend.config import instance_path_from, load_config
from backend.extensions import BinaryList, db
from backend.logs import configure_logging
from backend.types import MAX_ROW_ID

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Make SQLite a real default: WAL, NORMAL sync, a busy timeout, enforced foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _send_binary_lists(dbapi_connection: Any, connection_record: Any) -> None:
    """Let a new PostgreSQL connection send ``BinaryList`` parameters as binary arrays (see there)."""
    from psycopg.types.array import ListBinaryDumper  # here: processes on SQLite need not import psycopg

    dbapi_connection.adapters.register_dumper(BinaryList, ListBinaryDumper)


def _poll() -> Any:
    """Return a poll object that answers at once; gevent's patched one would switch greenlets to answer."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("select"):
        return monkey.get_original("select", "poll")()
    return select.poll()


def _refuse_dropped_connections(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection that the server closed or wrote to while it sat idle.

    The pool then opens a new one (``DisconnectionError``), as after a server restart. A ping per checkout
    (``pool_pre_ping``) found the same with a round trip in every request; a server that shuts down or ends a
    backend sends its reason and closes the socket, so an idle connection with anything to read is not used.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise sa.exc.DisconnectionError("the connection is closed")
    poller = _poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server closed or wrote to an idle connection")


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in URLs: positive and within the database's INTEGER range, else the route simply 404s."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


class CookielessSession(NullSession):
    """Flask's ``session`` in ClaimBridge: always empty, and writing to it is an error."""

    def _fail(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            "ClaimBridge keeps no cookie sessions: the API authenticates by bearer token, the console by the"
            " signed token in its links (backend.console.sessions)."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail  # type: ignore[assignment]


class CookielessSessionInterface(SessionInterface):
    """Open no cookie session: nothing reads one, and Flask's default built a signing serializer (a key
    derivation) and parsed the cookies on every request to open it."""

    null_session_class = CookielessSession

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask then uses the null session and saves nothing


class ClaimBridgeFlask(Flask):
    """Flask, deciding once per function whether it must run through ``async_to_sync``."""

    # Hooks and views. Callables made per request (after_this_request closures) would otherwise pile up here; once
    # full, new callables are answered without being remembered.
    _SYNCED_LIMIT = 512

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's ``ensure_sync``, remembered: it unwrapped and inspected each hook and the view (about 13
        functions) on every request."""
        try:
            synced = self._synced.get(func)
        except TypeError:
            # An unhashable callable (an object with __call__ and __eq__): Flask's answer each time.
            return super().ensure_sync(func)
        if synced is None:
            synced = super().ensure_sync(func)
            if len(self._synced) < self._SYNCED_LIMIT:
                self._synced[func] = synced
        return synced


def _register_blueprints(app: Flask) -> None:
    from backend.audit import views as audit_views
    from backend.auth.blueprint import bp as auth_bp
    from backend.cases import views as case_views
    from backend.console import views as console_views
    from backend.dunning import views as dunning_views
    from backend.extensions import api
    from backend.handovers import views as handover_views
    from backend.health.blueprint import bp as health_bp
    from backend.merchants import views as merchant_views
    from backend.ops.blueprint import bp as ops_bp
    from backend.orders import views as order_views
    from backend.payments import views as payment_views
    from backend.privacy import views as privacy_views
    from backend.receivables import views as receivable_views
    from backend.risk import views as risk_views
    from backend.shop_outbox import views as shop_outbox_views
    from backend.shopware.blueprint import bp as shopware_bp
    from backend.woocommerce.blueprint import blp as woocommerce_api_blp
    from backend.woocommerce.blueprint import bp as woocommerce_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp)
    api.register_blueprint(merchant_views.blp)
    app.register_blueprint(shopware_bp)
    api.register_blueprint(risk_views.blp)
    api.register_blueprint(order_views.blp)
    app.register_blueprint(woocommerce_bp)
    api.register_blueprint(woocommerce_api_blp)
    api.register_blueprint(dunning_views.blp)
    api.register_blueprint(receivable_views.blp)
    api.register_blueprint(handover_views.blp)
    api.register_blueprint(case_views.blp)
    api.register_blueprint(payment_views.blp)
    api.register_blueprint(console_views.blp)
    api.register_blueprint(audit_views.blp)
    api.register_blueprint(privacy_views.blp)
    api.register_blueprint(shop_outbox_views.blp)
    app.register_blueprint(console_views.bp)


def create_app(config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the app: validated environment config, then the caller's overrides, then extensions.

    ``web=False`` leaves out what only requests and Flask's extensions' commands use (``_init_web``): the
    request hooks, rate limits, OAuth server, error pages and metrics, the views with their URL rules and OpenAPI
    document, the risk tables loaded ahead of the first checkout, and Flask-Migrate (the ``db`` commands).
    ``claimbridge`` commands and the worker start in half the time.
    """
    instance_path = (config or {}).get("CLAIMBRIDGE_INSTANCE_PATH") or instance_path_from()
    app = ClaimBridgeFlask("backend", instance_path=instance_path, instance_relative_config=True)
    environ = dict(os.environ)
    for key, value in (config or {}).items():
        if key.startswith("CLAIMBRIDGE_") and isinstance(value, str):
            environ[key] = value
    settings = load_config(app.instance_path, environ)
    app.config.from_mapping(settings.to_flask())
    app.config.from_mapping({k: v for k, v in (config or {}).items() if not k.startswith("CLAIMBRIDGE_")})

    configure_logging(app)
    if app.config["CLAIMBRIDGE_PROXY_COUNT"]:
        # Behind a reverse proxy every request comes from the proxy; take the client from X-Forwarded-For,
        # trusting exactly as many hops as there are proxies (a client cannot forge past them).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["CLAIMBRIDGE_PROXY_COUNT"])
    import backend.models  # noqa: F401  (every table registered before migrations or queries)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
        else:
            sa.event.listen(db.engine, "checkout", _refuse_dropped_connections)
            sa.event.listen(db.engine, "connect", _send_binary_lists)
    if web:
        _init_web(app)
    return app


def _init_web(app: Flask) -> None:
    """Add what serving requests needs, imported here: a command or the worker needs none of it."""
    from flask_migrate import Migrate

    from backend.auth.server import authenticate_request, init_oauth
    from backend.boundary import BoundedJSONProvider, check_request, require_json_body
    from backend.errors import register_error_handlers
    from backend.extensions import api, limiter
    from backend.logs import init_request_logging
    from backend.merchants.models import SCOPES
    from backend.metrics import init_request_metrics
    from backend.openapi import document_decimals, register_security_scheme
    from backend.risk.signals import preload

    app.url_map.converters["int"] = RowIdConverter
    app.json = BoundedJSONProvider(app)
    app.session_interface = CookielessSessionInterface()
    limiter.init_app(app)
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(document_decimals)
    register_security_scheme(api, SCOPES)
    init_oauth(app)
    register_error_handlers(app)
    init_request_logging(app)
    init_request_metrics(app)
    # Authentication first: nothing of an unauthenticated request's body is read or parsed.
    app.before_request(authenticate_request)
    app.before_request(require_json_body)
    app.before_request(check_request)
    Migrate(app, db, directory=MIGRATIONS_DIR)  # the `db` commands; with Alembic 0.1 s and 11 MiB to import
    _register_blueprints(app)
    preload()  # load postcode and e-mail data now, not in the first checkout's request
