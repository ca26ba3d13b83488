"""Where the shop intake's time goes, in-process: the stages of the checkout gateway and the webhook intake.

    python benchmarks/shop_intake_stages.py                      # SQLite
    python benchmarks/shop_intake_stages.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/shop_intake_stages.py --profile cold       # cProfile of one endpoint instead

Requests are WSGI calls in this process (no HTTP server, no network), signed as the shop signs them
(shop_intake_http.py builds them the same way), against a database holding earlier checks (as in
risk_check_http.py). For each endpoint (the Shopware checkout gateway with its decision cache cold and warm,
Shopware ``checkout.order.placed`` webhooks, WooCommerce ``order.updated`` deliveries) it prints the CPU time of
this thread per request (SQLite's work included, a PostgreSQL server's not: unaffected by other processes on a
shared machine, as wall time is not), the stages the request runs (each request hook, the functions of the hot
path, each SQL statement by its first words) and the cyclic garbage collector's share. Stages nest: a statement
counts in its function's stage too.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk_check_http import postal_places, prefill_history, prepare_database, reset_postgres
from risk_check_stages import clock, spent, time_request_hooks, timed, wsgi_post
from shop_intake_http import APP_SECRET, connect_woocommerce, gateway_payload, placed_order, woo_line

from tests.fakes.shopware_shop import ShopSimulator, wsgi_transport


def parse_line(line: str) -> tuple[dict[str, str], bytes]:
    """Split a wrk_bodies.lua line into its headers and body."""
    *fields, body = line.split("\t")
    return dict(field.split(": ", 1) for field in fields), body.encode()


def instrument(app: Any, engine: sa.Engine) -> None:
    """Time the request hooks, the hot path's functions, every SQL statement and the garbage collector."""
    from backend.shopware import checkout, services, signing, views
    from backend.woocommerce import services as woo_services

    time_request_hooks(app)
    timed(signing, "claimed_shop", "shopware: parse the body (claimed_shop)")
    timed(services, "_registered_shop", "shopware: find the shop (gateway, webhooks)")
    timed(services, "_gateway_shop", "shopware: find the shop, its secrets decrypted (gateway)")
    timed(services, "_decrypted_secrets", "shopware: decrypt the shop secret")
    timed(signing, "verify_body", "shopware: HMAC of the body")
    timed(checkout, "read_checkout", "gateway: map the checkout")
    timed(checkout, "get_policy", "gateway: policy")
    timed(checkout, "_key_digest", "gateway: cache key")
    timed(checkout, "_cached_decision", "gateway: read the cached decision")
    timed(checkout._RISK_CHECK_REQUEST, "load", "gateway: validate the risk check (marshmallow)")
    timed(checkout, "run_risk_check", "gateway: run_risk_check (the risk helper's)")
    timed(checkout, "_store_decision", "gateway: store the decision")
    timed(views, "gateway_response", "gateway: sign the answer")
    timed(views, "invoice_unavailable_message", "gateway: cart message")
    timed(views._WEBHOOK, "load", "webhook: validate the event (marshmallow)")
    timed(services, "note_versions", "webhook: note versions")
    timed(services, "record_webhook", "webhook: record the event")
    timed(checkout, "link_placed_order", "webhook: link the placed order")
    timed(woo_services, "decrypt_text", "woo: decrypt the webhook secret")
    timed(woo_services, "verify_webhook_signature", "woo: HMAC of the body")
    timed(woo_services, "_order_id", "woo: parse the body")
    timed(woo_services, "request_order_sync", "woo: queue the order sync")
    timed(Session, "commit", "commit")

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _started(connection: Any, *_args: Any) -> None:
        connection.info["started"] = clock()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _finished(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = " ".join(statement.split()[:3])[:40]
        spent[f"  SQL {words}"] += clock() - connection.info["started"]

    collecting: dict[str, float] = {}

    def _collector(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collecting["started"] = clock()
        else:
            spent[f"  gc generation {info['generation']}"] += clock() - collecting.pop("started", clock())

    gc.callbacks.append(_collector)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint")
    parser.add_argument("--history", type=int, default=60_000, help="earlier checks stored before measuring")
    parser.add_argument(
        "--profile", choices=("cold", "warm", "shopware", "woo"), help="cProfile one endpoint"
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": tempfile.mkdtemp(prefix="cb-intake-stages-"),
        "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
        "CLAIMBRIDGE_SHOPWARE_APP_SECRET": APP_SECRET,
    }
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    prepare_database(env)
    os.environ.update(env)

    from backend import create_app
    from backend.extensions import db
    from backend.shopware.services import find_shop

    app = create_app()
    shop = ShopSimulator(wsgi_transport(app.test_client()), app_secret=APP_SECRET)
    shop.register()
    with app.app_context():
        merchant_id = find_shop(shop.shop_id).connection.merchant_id
        engine = db.engine
    woo_connection = connect_woocommerce(env, merchant_id)
    prefill_history(env, merchant_id, args.history)

    rng = random.Random(5)
    places = postal_places()

    def gateway(payload: dict) -> tuple[dict[str, str], bytes]:
        request = shop.gateway_request(payload)
        return request.headers, request.body

    def placed(n: int) -> tuple[dict[str, str], bytes]:
        request = shop.webhook_request("checkout.order.placed", placed_order(rng, n))
        return request.headers, request.body

    warm_carts = [gateway(gateway_payload(rng, places)) for _ in range(500)]
    # Each endpoint's n-th request. Requests are signed just before their run: a Shopware webhook's timestamp
    # counts for 5 minutes, and on a loaded machine the runs before the webhooks' took longer than that.
    endpoints: dict[str, tuple[str, Callable[[int], tuple[dict[str, str], bytes]]]] = {
        "cold": ("/shopware/checkout-gateway", lambda _n: gateway(gateway_payload(rng, places))),
        "warm": ("/shopware/checkout-gateway", lambda n: warm_carts[n % 500]),
        "shopware": ("/shopware/webhooks", placed),
        "woo": (f"/woocommerce/webhooks/{woo_connection}", lambda n: parse_line(woo_line(10_000 + n))),
    }

    def send(path: str, request: tuple[dict[str, str], bytes]) -> None:
        status = wsgi_post(app, path, request[1], request[0])
        assert status.startswith(("200", "204")), status

    for headers, body in warm_carts:
        send("/shopware/checkout-gateway", (headers, body))
    for path, build in endpoints.values():  # the first half of each endpoint's requests warms up
        for n in range(args.requests):
            send(path, build(n))
    # A gunicorn worker holds the app only; this process also holds the set-up's objects.
    gc.collect()
    gc.freeze()

    def measured(name: str) -> tuple[str, list[tuple[dict[str, str], bytes]]]:
        path, build = endpoints[name]
        return path, [build(n) for n in range(args.requests, 2 * args.requests)]

    if args.profile:
        path, requests = measured(args.profile)
        profiler = cProfile.Profile(clock)
        profiler.enable()
        for request in requests:
            send(path, request)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        if os.environ.get("PROFILE_OUT"):
            profiler.dump_stats(os.environ["PROFILE_OUT"])
        return

    instrument(app, engine)
    print(
        f"database: {'postgresql' if args.database_url else 'sqlite'}, history: {args.history} earlier checks,"
        f" {args.requests} measured requests per endpoint; CPU time of this thread"
    )
    for name in endpoints:
        path, requests = measured(name)
        spent.clear()
        started = clock()
        for request in requests:
            send(path, request)
        whole = (clock() - started) / args.requests * 1e6
        print(f"{name:9s} whole request {whole:8.1f} us")
        for stage, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {stage:58s} {seconds / args.requests * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
