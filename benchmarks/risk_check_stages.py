"""Where one risk check's time goes, in-process: the stages of POST /api/v1/risk-checks against its floor.

    python benchmarks/risk_check_stages.py                      # SQLite
    python benchmarks/risk_check_stages.py --database-url postgresql://postgres@127.0.0.1:5432/test

Requests are WSGI calls in this process (no HTTP server, no network), against a database holding a month of
earlier checks (as in risk_check_http.py). The floor (``floor_app.py``: bearer-token lookup, the same body
validated with the same schema, one INSERT, commit) and hello world are called the same way for scale. Every
figure is CPU time of this thread (SQLite's work included, a PostgreSQL server's not), so other work on a shared
machine does not inflate it as it does wall time. The stages are timed by wrapping the functions the request
runs, so the numbers are those of the real path; each request hook (authentication, the boundary checks, logging,
metrics, the rate limiter) is its own stage; "the rest" is Flask, flask-smorest, the session and building the
stored row.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import gc
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from floor_app import create_app as create_floor_app
from floor_app import create_tables
from hello_app import app as hello_app
from risk_check_http import prefill_history, prepare_database, realistic_bodies, reset_postgres

spent: collections.Counter[str] = collections.Counter()
# CPU time of this thread: what a request costs the app (SQLite's work included, a PostgreSQL server's not),
# unaffected by other processes taking turns on a shared machine as wall time is.
clock = time.thread_time


def timed(owner: Any, name: str, stage: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its CPU time to ``spent[stage]``."""
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] += clock() - started

    setattr(owner, name, wrapper)


def hook_timed(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a request hook so its CPU time adds to a stage named after it."""
    name = getattr(hook, "__name__", None) or getattr(getattr(hook, "func", None), "__name__", repr(hook))
    stage = f"request hook {name.strip('_')}"

    @functools.wraps(hook)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return hook(*args, **kwargs)
        finally:
            spent[stage] += clock() - started

    return wrapper


def time_request_hooks(app: Any) -> None:
    """Wrap every before- and after-request hook of ``app`` with ``hook_timed``."""
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        for functions in hooks.values():
            functions[:] = [hook_timed(function) for function in functions]


def wsgi_post(app: Callable, path: str, body: bytes, headers: dict[str, str]) -> str:
    """POST ``body`` to ``app`` through its WSGI callable; return the status line."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{"HTTP_" + key.upper().replace("-", "_"): value for key, value in headers.items()},
    }
    status: list[str] = []
    b"".join(app(environ, lambda line, _headers, _exc=None: status.append(line)))
    return status[0]


def bearer_headers(app: Any, client_id: str, client_secret: str) -> dict[str, str]:
    """Return the Authorization header of a token the app issues to the API client (client credentials)."""
    answer = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
    )
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def per_call_us(run: Callable[[], Any], calls: int) -> float:
    started = clock()
    for _ in range(calls):
        run()
    return (clock() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--history", type=int, default=60_000, help="earlier checks stored before measuring")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of the stages, print cProfile's N costliest functions",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": tempfile.mkdtemp(prefix="cb-stages-"),
        "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
    }
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    merchant_id, creds = prepare_database(env)
    returning = prefill_history(env, merchant_id, args.history)
    bodies = [json.dumps(body).encode() for body in realistic_bodies(2 * args.checks, returning=returning)]

    from backend import create_app
    from backend.risk import services, views
    from backend.risk.schemas import RiskCheckRequestSchema

    app = create_app()
    headers = bearer_headers(app, creds["client_id"], creds["client_secret"])

    def check(body: bytes) -> None:
        status = wsgi_post(app, "/api/v1/risk-checks", body, headers)
        assert status.startswith("201"), status

    for body in bodies[: args.checks]:  # warm: caches, prepared statements, the first rows of the day
        check(body)

    if args.profile:
        profile = cProfile.Profile(clock)
        profile.runcall(lambda: [check(body) for body in bodies[args.checks :]])
        stats = pstats.Stats(profile).sort_stats("tottime")
        stats.print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile)
        profile.dump_stats(Path(env["CLAIMBRIDGE_INSTANCE_PATH"]) / "risk_check.prof")
        print(f"profile written to {Path(env['CLAIMBRIDGE_INSTANCE_PATH']) / 'risk_check.prof'}")
        return

    time_request_hooks(app)
    unwrapped = {"load": RiskCheckRequestSchema.load, "commit": Session.commit}  # the floor runs them too
    timed(RiskCheckRequestSchema, "load", "validate the body (marshmallow)")
    timed(services, "identity_keys", "identity keys (normalise, HMAC)")
    timed(services, "buyer_context", "read history, velocity, override (1 statement)")
    timed(services, "evaluate", "signals and decision")
    timed(Session, "commit", "commit")
    timed(views, "_check_body", "response body")
    timed(services._INSERT_CHECK, "execute", "store the check (INSERT)")

    measured = bodies[args.checks :]
    # A gunicorn worker holds the app only; this process also holds the set-up's objects, which the cyclic
    # garbage collector would walk again and again. Freeze them out of its way.
    gc.collect()
    gc.freeze()
    started = clock()
    for body in measured:
        check(body)
    whole = (clock() - started) / len(measured) * 1e6
    hello = per_call_us(lambda: wsgi_post(hello_app, "/hello", b"{}", {}), 20_000)
    stages = {stage: seconds / len(measured) * 1e6 for stage, seconds in spent.items()}

    RiskCheckRequestSchema.load, Session.commit = unwrapped["load"], unwrapped["commit"]
    create_tables(app.config["SQLALCHEMY_DATABASE_URI"])
    floor_app = create_floor_app(app.config["SQLALCHEMY_DATABASE_URI"])
    floor_bodies = iter(bodies * 2)

    def write() -> None:
        status = wsgi_post(floor_app, "/writes", next(floor_bodies), headers)
        assert status.startswith("201"), status

    per_call_us(write, args.checks)  # warm, as the risk check was
    floor = per_call_us(write, len(measured))

    print(
        f"database: {'postgresql' if args.database_url else 'sqlite'}, history: {args.history} earlier checks"
    )
    print(f"hello world (same process, same way): {hello:8.1f} us CPU per request")
    print(f"floor (same process, same way):       {floor:8.1f} us CPU per request")
    print(
        f"risk check, whole request:            {whole:8.1f} us CPU per request  ({whole / floor:.2f} x the floor,"
        f" {whole / hello:.1f} x hello world)"
    )
    for stage, micros in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  {stage:44s} {micros:8.1f} us")
    rest = whole - sum(stages.values())
    print(f"  {'the rest (Flask, smorest, session, the row)':44s} {rest:8.1f} us")


if __name__ == "__main__":
    main()
