"""Benchmark POST /api/v1/risk-checks against its stack's floor and a hello-world endpoint, all under gunicorn.

Targets (DESIGN.md): risk-check throughput >= 80 % of the floor's, a durable authenticated write on the same
stack (``floor_app.py``: Flask + Flask-SQLAlchemy, bearer-token lookup, marshmallow validation of the same
body, one INSERT, commit); p99 < 10 ms at half the risk check's saturating load. Hello world is printed for
scale: a durable write cannot approach it. The floor and hello world are also paced at that same rate: their
p99 there is what the stack and the machine give any request at that load, the floor under the p99 target.

    python benchmarks/risk_check_http.py                      # SQLite
    python benchmarks/risk_check_http.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/risk_check_http.py --trace              # and where its time goes at half load

Needs wrk (Debian package `wrk`) and Linux (CPU time is read from /proc). Before measuring, the database gets a
month of earlier checks and invoice orders, as a shop in use has them. The three apps run in the same run with
the same gunicorn settings (backend/gunicorn_conf.py) on the same database; the floor and the risk check are
measured in alternating rounds, so a machine shared with other work disturbs both alike, and the ratio is
taken over the sums. Half load is paced with wrk's per-connection delay (closed loop with think time),
calibrated by a short run so the rate lands near the target. Each line also says where the machine's CPU time
per request went: the app's gunicorn workers, wrk itself, and the rest (the database server and the kernel).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK_THREADS = 2
PLACES = ROOT / "backend" / "risk" / "data" / "de_postal_places.tsv"
FIRST = ["Anna", "Lukas", "Marie", "Felix", "Sophie", "Jonas", "Lena", "Paul", "Mia", "Leon", "Emma", "Noah"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch"]
STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schulstraße",
    "Lindenallee",
    "Am Markt",
    "Kirchplatz",
]
DOMAINS = ["web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "mailinator.com"]


def buyer_ip(rng: random.Random) -> str:
    """A buyer's address as shops see them: mostly distinct home connections (IPv4 and IPv6 from German
    access networks), some behind a shared carrier-grade NAT or office address."""
    roll = rng.random()
    if roll < 0.05:
        return f"80.187.96.{rng.randint(1, 20)}"
    if roll < 0.35:
        return f"2003:{rng.randint(0xC000, 0xFFFF):x}:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
    return f"{rng.choice((79, 84, 87, 91, 93, 178, 217))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def make_buyer(rng: random.Random, places: list[list[str]]) -> dict:
    """One buyer: a name, contact data, a billing address with a real (PLZ, city) pair and an IP."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    plz, cities = rng.choice(places)
    return {
        "email": f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}".lower(),
        "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
        "first_name": first,
        "last_name": last,
        "address": {
            "first_name": first,
            "last_name": last,
            "street": rng.choice(STREETS),
            "house_number": str(rng.randint(1, 120)),
            "postal_code": plz,
            "city": cities.split("|")[0],
            "country": "DE",
        },
        "ip": buyer_ip(rng),
    }


def checkout_body(buyer: dict, rng: random.Random, reference: str) -> dict:
    """A risk-check request for one cart; one in ten ships to a Packstation."""
    body = {
        "reference": reference,
        "amount": str(Decimal(rng.randint(999, 120000)) / 100),
        "currency": "EUR",
        "payment_methods": ["invoice", "paypal", "creditcard"],
        "buyer": {
            "email": buyer["email"],
            "phone": buyer["phone"],
            "first_name": buyer["first_name"],
            "last_name": buyer["last_name"],
            "is_guest": rng.random() < 0.4,
        },
        "billing_address": buyer["address"],
        "ip": buyer["ip"],
        "items": [
            {"sku": f"SKU-{rng.randint(1, 500)}", "name": "Artikel", "quantity": 1, "unit_price": "19.99"}
        ],
    }
    if rng.random() < 0.1:
        body["shipping_address"] = {
            **buyer["address"],
            "street": "Packstation",
            "house_number": str(rng.randint(100, 999)),
        }
    return body


def postal_places() -> list[list[str]]:
    return [line.split("\t") for line in PLACES.read_text().splitlines() if "\t" in line]


def realistic_bodies(count: int, seed: int = 7, returning: list[dict] | None = None) -> list[dict]:
    """Varied checkouts with real (PLZ, city) pairs and a few risky ones (Packstation, disposable mail, big
    carts); with ``returning``, three in ten come from those earlier buyers."""
    rng = random.Random(seed)
    places = postal_places()
    bodies = []
    for n in range(count):
        buyer = rng.choice(returning) if returning and rng.random() < 0.3 else make_buyer(rng, places)
        bodies.append(checkout_body(buyer, rng, f"cart-{seed}-{n}"))
    return bodies


def prefill_history(env: dict, merchant_id: int, checks: int, seed: int = 11) -> list[dict]:
    """Store a month of earlier checks and invoice orders for the merchant, as a shop in use has them.

    Velocity and history then read real index pages, and PostgreSQL plans with real statistics. Returns the
    earlier buyers, some of whom come back in the measured run.
    """
    os.environ.update(env)
    import sqlalchemy as sa

    from backend import create_app
    from backend.extensions import db
    from backend.merchants.models import ShopConnection
    from backend.receivables.models import Receivable
    from backend.risk.identity import identity_keys
    from backend.risk.inputs import CheckInput
    from backend.risk.models import IDENTITY_KINDS, RiskCheck

    rng = random.Random(seed)
    places = postal_places()
    buyers = [make_buyer(rng, places) for _ in range(checks // 2)]
    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        secret = app.config["CLAIMBRIDGE_IDENTITY_KEY"]
        connection = ShopConnection(
            merchant_id=merchant_id, platform="shopware", shop_url="https://shop.example"
        )
        db.session.add(connection)
        db.session.flush()
        check_rows, receivable_rows = [], []
        for n in range(checks):
            body = checkout_body(rng.choice(buyers), rng, f"past-{n}")
            keys = identity_keys(CheckInput.from_payload(body), secret)
            created = now - timedelta(seconds=rng.randint(600, 30 * 86400))
            check_rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "merchant_id": merchant_id,
                    "reference": body["reference"],
                    "amount": Decimal(body["amount"]),
                    "currency": "EUR",
                    "decision": "accept",
                    "score": 10,
                    "rule": "score_accept",
                    "reasons": [],
                    "warnings": [],
                    "offered_methods": body["payment_methods"],
                    "hidden_methods": [],
                    **{f"{kind}_key": getattr(keys, kind) or None for kind in IDENTITY_KINDS},
                    "bureau": None,
                    "raw_input": body,
                    "latency_ms": 1.0,
                    "created_at": created,
                    "expires_at": created + timedelta(minutes=30),
                }
            )
            # A third of the checkouts became invoice orders, linked to their check as the shop plugins link them
            # (velocity and the phone link read that); most are paid by now.
            if n % 3 == 0:
                due = (created + timedelta(days=14)).date()
                paid = rng.random() < 0.8
                receivable_rows.append(
                    {
                        "merchant_id": merchant_id,
                        "connection_id": connection.id,
                        "risk_check_id": check_rows[-1]["id"],
                        "external_id": f"order-{n}",
                        "number": f"{10000 + n}",
                        "state": "paid" if paid else "open",
                        "currency": "EUR",
                        "total_amount": Decimal(body["amount"]),
                        "paid_amount": Decimal(body["amount"]) if paid else Decimal("0.00"),
                        "credited_amount": Decimal("0.00"),
                        "debtor_kind": "consumer",
                        "ordered_at": created,
                        "invoice_date": created.date(),
                        "due_date": due,
                        "buyer": body["buyer"],
                        "billing_address": body["billing_address"],
                        "email_key": keys.email,
                        "address_key": keys.address,
                        "dunning_level": 0 if paid or due > now.date() else 1,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
        for table, rows in ((RiskCheck.__table__, check_rows), (Receivable.__table__, receivable_rows)):
            for start in range(0, len(rows), 5000):
                db.session.execute(sa.insert(table), rows[start : start + 5000])
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return buyers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sqlalchemy_url(database_url: str | None, workdir: Path) -> str:
    """Return the SQLAlchemy URL of the app's database (its SQLite file, or PostgreSQL through psycopg)."""
    if not database_url:
        return f"sqlite:///{(workdir / 'claimbridge.db').as_posix()}"
    scheme, _, rest = database_url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else database_url


def start_gunicorn(app_spec: str, env: dict, workers: int, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="cb-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "backend" / "gunicorn_conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            app_spec,
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    process.log_path = log.name  # type: ignore[attr-defined]  # read by the benchmarks after a run
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a busy machine takes its time importing the app
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(base + "/", timeout=2)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    log.seek(0)
    raise SystemExit(f"gunicorn for {app_spec} did not start (log {log.name}):\n{log.read()[-3000:]}")


def start_app(
    env: dict, floor_env: dict, workers: int, trace_dir: Path | None
) -> tuple[subprocess.Popen, str]:
    """Start the app under gunicorn; with ``trace_dir``, through traced_app.py writing its traces there."""
    if trace_dir is None:
        return start_gunicorn("backend:create_app()", env, workers, ROOT)
    trace_dir.mkdir()
    # wrk_bodies.lua stamps each request with its sending time, for traced_app.py.
    os.environ["SENT_AT"] = "1"
    traced_env = {**floor_env, "TRACE_DIR": str(trace_dir)}
    return start_gunicorn("traced_app:app", traced_env, workers, ROOT / "benchmarks")


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_cpu_seconds() -> float:
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str,
    bodies_file: Path,
    *,
    connections: int,
    seconds: int,
    server: subprocess.Popen,
    auth: str | None = None,
    delay_ms: float = 0,
    start: int = 0,
) -> dict:
    """Run wrk against ``url``; return throughput, latency and the CPU time per request by who spent it.

    Requests are the file's lines from ``start`` on; the result's ``next`` is where a following run on the file
    begins to send only lines this one did not (``wrapped`` says the file ran out and lines were sent again).
    """
    workers = [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
    before = (sum(map(_process_cpu_seconds, workers)), _children_cpu_seconds(), _busy_cpu_seconds())
    env = {
        **os.environ,
        "BODIES_FILE": str(bodies_file),
        "DELAY_MS": str(int(delay_ms)),
        "START": str(start),
        "THREADS": str(WRK_THREADS),
    }
    if auth:
        env["AUTH"] = auth
    output = subprocess.run(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "benchmarks" / "wrk_bodies.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    app_cpu, wrk_cpu, busy = (
        sum(map(_process_cpu_seconds, workers)) - before[0],
        _children_cpu_seconds() - before[1],
        _busy_cpu_seconds() - before[2],
    )
    result = json.loads(next(line for line in output.splitlines() if line.startswith("JSON "))[5:])
    result["rps"] = result["requests"] / result["seconds"]
    result["wrapped"] = result["next"] > result["lines"]
    per_request = 1000 / max(1, result["requests"])
    result["cpu_ms"] = {
        "app": app_cpu * per_request,
        "wrk": wrk_cpu * per_request,
        "rest": max(0.0, busy - app_cpu - wrk_cpu) * per_request,
    }
    return result


def paced(
    url: str,
    bodies_file: Path,
    rate: float,
    *,
    seconds: int,
    server: subprocess.Popen,
    auth: str | None = None,
    start: int = 0,
) -> dict:
    """Run wrk at about ``rate`` requests per second: each connection waits between its requests.

    A connection's rate is 1 / (latency + delay). A short run with the delay alone shows the latency, and the
    measured run subtracts it. Both send the file's lines from ``start`` on, the measured run those after the
    probe's.
    """
    connections = 32  # many slow connections keep wrk's whole-millisecond delay a small rounding error
    delay = connections * 1000 / rate
    probe = wrk(
        url,
        bodies_file,
        connections=connections,
        seconds=3,
        server=server,
        auth=auth,
        delay_ms=delay,
        start=start,
    )
    latency = max(0.0, connections * 1000 / probe["rps"] - delay)
    delay = max(0.0, connections * 1000 / rate - latency)
    run = wrk(
        url,
        bodies_file,
        connections=connections,
        seconds=seconds,
        server=server,
        auth=auth,
        delay_ms=delay,
        start=probe["next"],
    )
    run["wrapped"] |= probe["wrapped"]
    return run


def combined(results: list[dict]) -> dict:
    """Return several runs of one endpoint as one: summed requests and time, the worst p50/p99, mean CPU."""
    seconds = sum(r["seconds"] for r in results)
    requests_done = sum(r["requests"] for r in results)
    return {
        "requests": requests_done,
        "seconds": seconds,
        "rps": requests_done / seconds,
        "errors": sum(r["errors"] for r in results),
        "non2xx": sum(r["non2xx"] for r in results),
        "p50_ms": max(r["p50_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "cpu_ms": {
            who: sum(r["cpu_ms"][who] * r["requests"] for r in results) / max(1, requests_done)
            for who in ("app", "wrk", "rest")
        },
    }


# Columns of a request's line in a trace (benchmarks/traced_app.py), after its start and path.
(
    _WALL,
    _OWN,
    _GC,
    _SQL_WALL,
    _SQL_CPU,
    _OTHERS,
    _SWITCHES,
    _LOCKED,
    _COMMIT,
    _CONNECTS,
    _QUEUED,
    _WRITING,
    _BEFORE,
    _BEFORE_CPU,
    _BEFORE_QUEUED,
) = range(15)


def print_traces(trace_dir: Path, windows: dict[str, tuple[float, float]]) -> None:
    """Show, per run at half load, where the app's requests spent their time (``traced_app.py``): the mean of
    all, of the middle tenth by latency (the median's neighbours) and of the slowest 1 %."""
    rows = [
        [path.stem, *line.split("\t")]
        for path in trace_dir.glob("*.tsv")
        for line in path.read_text().splitlines()
    ]
    print(
        f"traces ({trace_dir}), ms. Latency from wrk's send until the app returned = before the app (waiting"
    )
    print("for the worker: of it the worker's CPU, i.e. its other requests' and the reading of this one, and")
    print(
        "the worker on the run queue) + in the app: own CPU (of it GC, SQL) + other requests' CPU + not running"
    )
    print(
        "(waiting for the database, the disk or a core; of it on the run queue: the kernel's count, a few %"
    )
    print("high). SQL wall (of it SQLite's writer lock, writing statements) and COMMIT are inside the app's.")
    for label, (began, ended) in windows.items():
        window = [row for row in rows if began <= float(row[1]) <= ended]
        runs = sorted(
            ([float(value) for value in row[3:]] for row in window),
            key=lambda values: values[_BEFORE] + values[_WALL],
        )
        if not runs:
            continue
        # A wrk connection stays with the worker that accepted it: the workers' shares of the load may differ.
        workers = collections.Counter(row[0] for row in window)
        print(f"  {label}: requests per gunicorn worker {', '.join(map(str, sorted(workers.values())))}")
        groups = {
            "all": runs,
            "middle 10 %": runs[len(runs) * 45 // 100 : len(runs) * 55 // 100 + 1],
            "slowest 1 %": runs[-max(1, len(runs) // 100) :],
        }
        for name, group in groups.items():
            m = [sum(values[n] for values in group) / len(group) for n in range(len(group[0]))]
            print(
                f"    {name:11s} n {len(group):5d} latency {m[_BEFORE] + m[_WALL]:6.2f} = before {m[_BEFORE]:6.2f}"
                f" (CPU {m[_BEFORE_CPU]:5.2f}, run queue {m[_BEFORE_QUEUED]:5.2f}) + in the app {m[_WALL]:6.2f}"
                f" = own {m[_OWN]:4.2f} (GC {m[_GC]:4.2f}, SQL {m[_SQL_CPU]:4.2f}) + others {m[_OTHERS]:5.2f}"
                f" + not running {m[_WALL] - m[_OWN] - m[_OTHERS]:6.2f} (run queue {m[_QUEUED]:5.2f})"
                f" | SQL wall {m[_SQL_WALL]:6.2f} (writer lock {m[_LOCKED]:5.2f}, writing {m[_WRITING]:5.2f})"
                f" COMMIT {m[_COMMIT]:5.2f} switches {m[_SWITCHES]:3.1f} connections {m[_CONNECTS]:3.2f}"
            )
        latencies = [values[_BEFORE] + values[_WALL] for values in runs]
        print(
            f"    p50 {latencies[len(runs) // 2]:.2f} p99 {latencies[int(len(runs) * 0.99)]:.2f} ms (send to app's end)"
        )


def prepare_database(env: dict) -> tuple[int, dict]:
    """Migrate, create a merchant and an API client; return the merchant id and the client's credentials."""

    def cli(*args: str) -> str:
        return subprocess.run(
            [str(BIN / "claimbridge"), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    cli("db", "upgrade")
    merchant = json.loads(cli("merchants", "create", "Benchmark GmbH", "--json"))
    client = json.loads(
        cli("clients", "create", "--merchant", str(merchant["id"]), "--scopes", "risk:check", "--json")
    )
    return merchant["id"], client


def reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--bodies", type=int, default=50_000, help="distinct checkouts the load cycles through"
    )
    parser.add_argument("--history", type=int, default=60_000, help="earlier checks stored before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="alternating saturated runs of floor and check")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="serve the risk check through benchmarks/traced_app.py (in every run) and show where its requests"
        " at half load spent their time",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="cb-bench-"))
    env = {**os.environ, "CLAIMBRIDGE_INSTANCE_PATH": str(workdir), "CLAIMBRIDGE_LOG_LEVEL": "WARNING"}
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    merchant_id, creds = prepare_database(env)
    returning = prefill_history(env, merchant_id, args.history)
    bodies_file = workdir / "bodies.jsonl"
    bodies = realistic_bodies(args.bodies, returning=returning)
    bodies_file.write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    hello_file = workdir / "hello.jsonl"
    hello_file.write_text("{}\n")

    floor_env = {
        **env,
        "FLOOR_DATABASE_URL": sqlalchemy_url(args.database_url, workdir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    }
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from floor_app import create_tables

    create_tables(floor_env["FLOOR_DATABASE_URL"])

    trace_dir = workdir / "trace"
    app, app_base = start_app(env, floor_env, args.workers, trace_dir if args.trace else None)
    floor, floor_base = start_gunicorn("floor_app:app", floor_env, args.workers, ROOT / "benchmarks")
    hello, hello_base = start_gunicorn("hello_app:app", env, args.workers, ROOT / "benchmarks")
    try:
        token = requests.post(
            app_base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        auth = f"Bearer {token}"
        check_url = app_base + "/api/v1/risk-checks"
        floor_url = floor_base + "/writes"
        load = {"connections": args.connections, "seconds": args.seconds}
        wrk(check_url, bodies_file, connections=4, seconds=2, server=app, auth=auth)  # warm up
        wrk(floor_url, bodies_file, connections=4, seconds=2, server=floor, auth=auth)
        wrk(hello_base + "/hello", hello_file, connections=4, seconds=2, server=hello)
        baseline = wrk(hello_base + "/hello", hello_file, server=hello, **load)
        floors, checks = [], []
        for _ in range(args.rounds):
            floors.append(wrk(floor_url, bodies_file, server=floor, auth=auth, **load))
            checks.append(wrk(check_url, bodies_file, server=app, auth=auth, **load))
        floor_result, saturated = combined(floors), combined(checks)
        half_rate = saturated["rps"] / 2
        began = time.time()
        half = paced(check_url, bodies_file, half_rate, seconds=args.seconds, server=app, auth=auth)
        windows = {"risk check (half)": (began, time.time())}
        floor_half = paced(floor_url, bodies_file, half_rate, seconds=args.seconds, server=floor, auth=auth)
        hello_half = paced(hello_base + "/hello", hello_file, half_rate, seconds=args.seconds, server=hello)
    finally:
        for process in (app, floor, hello):
            process.terminate()
            process.wait(timeout=20)

    ratio = saturated["rps"] / floor_result["rps"]
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"database:            {backend}, gunicorn workers: {args.workers}, wrk connections: {args.connections}"
        + (" (the risk check traced)" if args.trace else "")
    )
    print(f"history:             {args.history} earlier checks, {args.bodies} distinct checkouts in the load")
    print(
        f"rounds:              {args.rounds} alternating {args.seconds} s runs of the floor and the risk check"
    )
    for label, result in (
        ("hello world", baseline),
        ("floor (sat.)", floor_result),
        ("risk check (sat.)", saturated),
        ("risk check (half)", half),
        ("floor (same rate)", floor_half),
        ("hello (same rate)", hello_half),
    ):
        cpu = result["cpu_ms"]
        print(
            f"{label + ':':20s} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms"
            f"  errors {result['errors']} non-2xx {result['non2xx']}"
            f"  | CPU per request: app {cpu['app']:.2f} ms, wrk {cpu['wrk']:.2f} ms, rest {cpu['rest']:.2f} ms"
        )
    if args.rounds > 1:
        print(
            "per round, risk/floor: "
            + ", ".join(
                f"{c['rps']:.0f}/{f['rps']:.0f}={c['rps'] / f['rps']:.2f}"
                for f, c in zip(floors, checks, strict=True)
            )
        )
    print(f"half load target:    {half_rate:8.0f} req/s")
    print(f"vs hello world:      {saturated['rps'] / baseline['rps']:.2f}  (for scale)")
    print(f"throughput ratio:    {ratio:.2f}  (risk check / floor, target >= 0.80)")
    print(
        f"p99 at half load:    {half['p99_ms']:.2f} ms  (target < 10 ms; at the same rate the floor's"
        f" {floor_half['p99_ms']:.2f} ms, hello world's {hello_half['p99_ms']:.2f} ms)"
    )
    if args.trace:
        print_traces(trace_dir, windows)


if __name__ == "__main__":
    main()
