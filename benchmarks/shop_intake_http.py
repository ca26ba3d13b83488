"""Benchmark what shops send the backend: the Shopware checkout gateway and the signed webhook intake, under gunicorn.

Targets (DESIGN.md): p99 < 25 ms at half load, no errors. For each endpoint: throughput at saturation, then
p50/p99 at half that rate, beside the same run's hello world and durable-write floor (benchmarks/floor_app.py);
the floor is also paced at each endpoint's half rate, its p99 there the least a durable write gets at that load.

    python benchmarks/shop_intake_http.py                      # SQLite
    python benchmarks/shop_intake_http.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/shop_intake_http.py --slow-clients 50    # with 50 sockets holding half a header

Endpoints, each request signed as the shop signs it (tests/fakes/shopware_shop.py copies Shopware's
AuthMiddleware; WooCommerce signs base64(HMAC-SHA256(secret, body))):

- Shopware checkout gateway, decision cache cold: every request is another buyer's cart (a risk check is run
  and its decision stored), none sent by an earlier run (warm-up, saturated, the pacing probe);
- the same, warm: the carts were answered once before, so their decisions come from the cache;
- Shopware webhook intake: ``checkout.order.placed`` events, each with its own eventId (stored for the worker,
  the placed order linked to its gateway decision);
- WooCommerce webhook intake: ``order.updated`` deliveries (the order is queued for re-fetching).

The shop registers through the real handshake before measuring, and the merchant gets a month of earlier
checks and invoice orders (as risk_check_http.py). ``--slow-clients N`` opens N connections that send half a
request header and then wait, for the whole measurement (issue 18's attack).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from floor_app import create_tables  # noqa: E402
from risk_check_http import (  # noqa: E402
    make_buyer,
    paced,
    postal_places,
    prefill_history,
    prepare_database,
    print_traces,
    realistic_bodies,
    reset_postgres,
    sqlalchemy_url,
    start_app,
    start_gunicorn,
    wrk,
)

from tests.fakes.shopware_shop import ShopSimulator, http_transport, load_fixture  # noqa: E402

APP_SECRET = "benchmark-app-secret-of-at-least-32-characters"  # noqa: S105 - the benchmark's own throwaway Shopware app secret
WOO_SECRET = "benchmark-webhook-secret"  # noqa: S105 - the benchmark's own throwaway webhook secret
INVOICE = "payment_invoicepayment"


def gateway_payload(rng: random.Random, places: list[list[str]]) -> dict:
    """A registered customer's checkout as Shopware 6.6 sends it, for another buyer and cart each time."""
    payload = load_fixture("gateway_registered_customer")
    buyer = make_buyer(rng, places)
    token = secrets.token_hex(16)
    payload["cart"]["token"] = payload["salesChannelContext"]["token"] = token
    payload["cart"]["price"]["totalPrice"] = rng.randint(999, 90000) / 100
    customer = payload["salesChannelContext"]["customer"]
    customer.update(
        id=uuid.UUID(int=rng.getrandbits(128)).hex,
        email=buyer["email"],
        firstName=buyer["first_name"],
        lastName=buyer["last_name"],
    )
    address = buyer["address"]
    billing = customer["defaultBillingAddress"]
    billing.update(
        firstName=buyer["first_name"],
        lastName=buyer["last_name"],
        street=f"{address['street']} {address['house_number']}",
        zipcode=address["postal_code"],
        city=address["city"],
        phoneNumber=buyer["phone"],
    )
    payload["salesChannelContext"]["shippingLocation"]["address"] = dict(billing)
    payload["cart"]["deliveries"][0]["location"]["address"] = dict(billing)
    method_id = next(key for key, name in payload["paymentMethods"].items() if name == INVOICE)
    payload["salesChannelContext"]["paymentMethod"] = {
        "id": method_id,
        "technicalName": INVOICE,
        "apiAlias": "payment_method",
    }
    return payload


def request_line(headers: dict[str, str], body: bytes) -> str:
    """One line of wrk_bodies.lua: the request's headers, then its body, tab-separated."""
    wanted = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    return "\t".join([*(f"{name}: {value}" for name, value in wanted.items()), body.decode()])


def placed_order(rng: random.Random, n: int) -> dict[str, object]:
    """The payload of Shopware's checkout.order.placed webhook for the n-th order."""
    return {
        "order": {
            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "orderNumber": str(20000 + n),
            "amountTotal": 49.9,
            "orderCustomer": {"customerId": uuid.UUID(int=rng.getrandbits(128)).hex},
        }
    }


def woo_line(order_id: int) -> str:
    """A signed WooCommerce ``order.updated`` delivery (WC_Webhook::generate_signature)."""
    body = json.dumps({"id": order_id, "status": "processing", "payment_method": "invoice"}).encode()
    signature = base64.b64encode(hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
    }
    return request_line(headers, body)


def connect_woocommerce(env: dict, merchant_id: int) -> int:
    """Store an active WooCommerce connection with its webhook secret, as the connect flow leaves it."""
    os.environ.update(env)
    from backend import create_app
    from backend.crypto import encrypt_text
    from backend.extensions import db
    from backend.merchants.models import ShopConnection
    from backend.woocommerce.models import WooCommerceWebhook

    app = create_app()
    with app.app_context():
        connection = ShopConnection(
            merchant_id=merchant_id, platform="woocommerce", shop_url="https://woo.example", status="active"
        )
        db.session.add(connection)
        db.session.flush()
        db.session.add(
            WooCommerceWebhook(connection_id=connection.id, secret_encrypted=encrypt_text(WOO_SECRET))
        )
        db.session.commit()
        return connection.id


def shop_merchant(env: dict, shop_id: str) -> int:
    """Return the merchant the Shopware registration created."""
    os.environ.update(env)
    from backend import create_app
    from backend.shopware.services import find_shop

    with create_app().app_context():
        return find_shop(shop_id).connection.merchant_id


def hold_slow_clients(port: int, count: int) -> list[socket.socket]:
    """Open ``count`` connections that send half a request header and then wait (tests/test_serve.py)."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /shopware/checkout-gateway HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
        held.append(sock)
    return held


def errors_named(result: dict) -> str:
    """Name a run's errors by kind (wrk's connect, read, write, timeout) and by status: "0" when there were none."""
    parts = [f"{kind} {count}" for kind, count in result["error_kinds"].items() if count]
    parts += [f"HTTP {status} x{count}" for status, count in sorted(result["statuses"].items())]
    return ", ".join(parts) or "0"


def logged_problems(path: str) -> list[str]:
    """Return the distinct warnings, errors and tracebacks' last lines the app's gunicorn log holds."""
    lines = Path(path).read_text(errors="replace").splitlines()
    found: dict[str, int] = {}
    for number, line in enumerate(lines):
        last_of_traceback = (
            line and not line.startswith(" ") and number and lines[number - 1].startswith("  ")
        )
        if re.search(r"\bWARNING\b|\bERROR\b|\bCRITICAL\b", line) or last_of_traceback:
            # Times, ids and counts vary from line to line; the kind of problem does not.
            key = re.sub(r"[0-9a-f]{8,}|\d+", "N", line)[:200]
            found[key] = found.get(key, 0) + 1
    return [f"{count} x {line}" for line, count in found.items()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--history", type=int, default=60_000, help="earlier checks stored before measuring")
    parser.add_argument(
        "--carts",
        type=int,
        default=40_000,
        help="distinct carts (and webhook events) each endpoint's file holds",
    )
    parser.add_argument(
        "--warm-carts", type=int, default=500, help="carts answered once before the warm load"
    )
    parser.add_argument("--slow-clients", type=int, default=0, help="sockets holding half a header meanwhile")
    parser.add_argument(
        "--only", help="comma-separated endpoints to measure (cold, warm, shopware, woo); default all"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="serve the app through benchmarks/traced_app.py and show where the slowest 1 %% at half load spent"
        " their time",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="cb-intake-"))
    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": str(workdir),
        "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
        "CLAIMBRIDGE_SHOPWARE_APP_SECRET": APP_SECRET,
    }
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    _merchant_id, creds = prepare_database(env)
    floor_env = {
        **env,
        "FLOOR_DATABASE_URL": sqlalchemy_url(args.database_url, workdir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    }
    create_tables(floor_env["FLOOR_DATABASE_URL"])

    trace_dir = workdir / "trace"
    app, base = start_app(env, floor_env, args.workers, trace_dir if args.trace else None)
    floor, floor_base = start_gunicorn("floor_app:app", floor_env, args.workers, ROOT / "benchmarks")
    hello, hello_base = start_gunicorn("hello_app:app", env, args.workers, ROOT / "benchmarks")
    held: list[socket.socket] = []
    try:
        shop = ShopSimulator(http_transport(base), app_secret=APP_SECRET)
        shop.register()
        merchant_id = shop_merchant(env, shop.shop_id)
        woo_connection = connect_woocommerce(env, merchant_id)
        returning = prefill_history(env, merchant_id, args.history)
        token = requests.post(
            base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        ).json()["access_token"]

        rng = random.Random(5)
        places = postal_places()
        files = {}

        def write(name: str, lines: list[str]) -> Path:
            path = workdir / f"{name}.lines"
            path.write_text("\n".join(lines) + "\n")
            files[name] = path
            return path

        def gateway_lines(count: int) -> list[str]:
            lines = []
            for _ in range(count):
                request = shop.gateway_request(gateway_payload(rng, places))
                lines.append(request_line(request.headers, request.body))
            return lines

        write("cold", gateway_lines(args.carts))
        warm = gateway_lines(args.warm_carts)
        write("warm", warm)
        session = requests.Session()
        for line in warm:  # answer each warm cart once: its decision is then cached
            *header_fields, body = line.split("\t")
            headers = dict(field.split(": ", 1) for field in header_fields)
            answered = session.post(
                base + "/shopware/checkout-gateway",
                data=body.encode(),
                headers={**headers, "Content-Type": "application/json"},
                timeout=10,
            )
            answered.raise_for_status()
        placed = []
        for n in range(args.carts):
            request = shop.webhook_request("checkout.order.placed", placed_order(rng, n))
            placed.append(request_line(request.headers, request.body))
        write("shopware_webhook", placed)
        write("woo_webhook", [woo_line(10_000 + n) for n in range(args.carts)])
        write("floor", [json.dumps(body) for body in realistic_bodies(args.carts, returning=returning)])
        write("hello", ["{}"])

        port = int(base.rsplit(":", 1)[1])
        held = hold_slow_clients(port, args.slow_clients)
        load = {"connections": args.connections, "seconds": args.seconds}
        endpoints = [
            ("gateway, cache cold", base + "/shopware/checkout-gateway", "cold", app, None),
            ("gateway, cache warm", base + "/shopware/checkout-gateway", "warm", app, None),
            ("Shopware webhooks", base + "/shopware/webhooks", "shopware_webhook", app, None),
            (
                "WooCommerce webhooks",
                f"{base}/woocommerce/webhooks/{woo_connection}",
                "woo_webhook",
                app,
                None,
            ),
        ]
        if args.only:
            endpoints = [
                endpoint for endpoint in endpoints if endpoint[2].split("_")[0] in args.only.split(",")
            ]
        auth = f"Bearer {token}"
        # Where each file's unsent lines begin: the cold gateway meets only carts no earlier run sent, the
        # webhooks only events not delivered before (a replayed Shopware eventId is merely dropped).
        sent = dict.fromkeys(files, 0)
        for _label, url, name, server, _ in endpoints:  # warm up every path (the cold carts stay unseen)
            warmup = "warm" if name == "cold" else name
            sent[warmup] = wrk(
                url, files[warmup], connections=4, seconds=2, server=server, start=sent[warmup]
            )["next"]
        wrk(floor_base + "/writes", files["floor"], connections=4, seconds=2, server=floor, auth=auth)
        results = [
            ("hello world", wrk(hello_base + "/hello", files["hello"], server=hello, **load), None),
            (
                "floor (durable write)",
                wrk(floor_base + "/writes", files["floor"], server=floor, auth=auth, **load),
                None,
            ),
        ]
        windows = {}
        floor_at: dict[str, dict] = {}  # the floor paced at each endpoint's half-load rate
        for label, url, name, server, _ in endpoints:
            saturated = wrk(url, files[name], server=server, start=sent[name], **load)
            half_rate = saturated["rps"] / 2
            began = time.time()
            half = paced(
                url,
                files[name],
                half_rate,
                seconds=args.seconds,
                server=server,
                start=saturated["next"],
            )
            windows[label] = (began, time.time())
            results.append((label, saturated, half))
            floor_at[label] = paced(
                floor_base + "/writes",
                files["floor"],
                half_rate,
                seconds=args.seconds,
                server=floor,
                auth=auth,
            )
    finally:
        for sock in held:
            sock.close()
        for process in (app, floor, hello):
            process.terminate()
            process.wait(timeout=20)

    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"database: {backend}, gunicorn workers: {args.workers}, wrk connections: {args.connections},"
        f" {args.seconds} s per run, slow clients holding half a header: {args.slow_clients}"
    )
    print(f"{'':22s} {'saturated':>30s}   {'at half load':>44s}")
    for label, saturated, half in results:
        line = (
            f"{label + ':':22s} {saturated['rps']:7.0f} req/s p50 {saturated['p50_ms']:6.2f} p99 {saturated['p99_ms']:7.2f} ms"
            f" err {errors_named(saturated)} app CPU {saturated['cpu_ms']['app']:.2f} ms"
        )
        if half is not None and label != "gateway, cache warm" and (saturated["wrapped"] or half["wrapped"]):
            line += " (lines sent again: raise --carts)"
        if half is not None:
            verdict = "met" if half["p99_ms"] < 25 and not half["errors"] + half["non2xx"] else "MISSED"
            line += (
                f" | {half['rps']:6.0f} req/s p50 {half['p50_ms']:6.2f} p99 {half['p99_ms']:7.2f} ms"
                f" err {errors_named(half)}  (p99 < 25 ms, no errors: {verdict};"
                f" the floor at that rate: p99 {floor_at[label]['p99_ms']:.2f} ms)"
            )
        print(line)
    print("err = wrk's connect/read/write/timeout errors and the statuses >= 400 answered")
    if args.trace:
        print_traces(trace_dir, windows)
    problems = logged_problems(app.log_path)
    print(f"app log {app.log_path}: " + ("nothing logged at WARNING or above" if not problems else ""))
    for line in problems[:20]:
        print("  " + line)


if __name__ == "__main__":
    main()
