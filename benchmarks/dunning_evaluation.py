"""Benchmark of the dunning evaluation: one run of the due-selection SQL over N open receivables on PostgreSQL.

It (re)creates a dedicated database (its name must start with ``claimbridge_bench``), migrates it, generates
the receivables with one ``INSERT … SELECT generate_series`` (no ORM), plus the notices already sent for
those past their first stages, some buyer stops and some merchants with saved schedules, then ANALYZEs and
runs ``backend.dunning.evaluation.due_selection`` once (no sending), streaming the result with a server-side
cursor. It prints rows scanned (from EXPLAIN ANALYZE), rows selected, elapsed seconds and peak memory
(``resource.getrusage``), and the time of one worker claim (500 rows, ``FOR UPDATE SKIP LOCKED``).

Run: ``python benchmarks/dunning_evaluation.py [--rows 1000000]
[--database-url postgresql://postgres@127.0.0.1:5432/claimbridge_bench_dunning]`` (or set
``CLAIMBRIDGE_BENCHMARK_DATABASE_URL``). Target: under 60 s with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from backend import create_app
from backend.dunning.claims import DebtorKind
from backend.dunning.evaluation import due_selection
from backend.dunning.merchant_settings import replace_schedules
from backend.dunning.schedule import default_schedule
from backend.extensions import db
from backend.merchants.models import Merchant, ShopConnection

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/claimbridge_bench_dunning"
TODAY = date(2025, 9, 1)
FETCH_SIZE = 10_000


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _recreate_database(url: str) -> str:
    """Drop and create the benchmark database; return the SQLAlchemy URL of it."""
    parsed = sa.make_url(url)
    if not (parsed.database or "").startswith("claimbridge_bench"):
        raise SystemExit("refusing: the benchmark database name must start with 'claimbridge_bench'")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _create_merchants(count: int) -> None:
    """Create merchants with one connection each; every tenth saves its own schedule (shop channel first)."""
    for number in range(1, count + 1):
        merchant = Merchant(name=f"Bench Shop {number}", settings={})
        db.session.add(merchant)
        db.session.flush()
        db.session.add(
            ShopConnection(
                merchant_id=merchant.id, platform="api", shop_url="https://bench.example", status="active"
            )
        )
        if number % 10 == 0:
            document = {kind.value: default_schedule(kind).to_dict() for kind in DebtorKind}
            document["consumer"]["stages"][0]["channel"] = "shop"
            replace_schedules(merchant.id, document, actor="benchmark")
    db.session.commit()


GENERATE_RECEIVABLES = """
INSERT INTO receivables (
    merchant_id, connection_id, external_id, number, state, currency, total_amount, paid_amount,
    credited_amount, debtor_kind, ordered_at, invoice_date, due_date, invoice_has_default_notice, buyer,
    billing_address, line_items, email_key, dunning_level, disputed_at, dunning_stopped_at, created_at, updated_at
)
SELECT
    m.id, c.id, g::text, 'RE-' || g, s.state, 'EUR', 20 + (g % 480), s.paid, 0,
    CASE WHEN g % 5 = 0 THEN 'business' ELSE 'consumer' END,
    now(), d.invoice_date, d.invoice_date + 14, false, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb,
    md5('buyer' || (g % :buyers)), LEAST(GREATEST(((:today - (d.invoice_date + 14)) - 7) / 10, 0), 2),
    CASE WHEN s.state = 'disputed' THEN now() END,
    CASE WHEN g % 97 = 0 THEN now() END,
    now(), now()
FROM generate_series(1, :rows) AS g
JOIN merchants m ON m.id = 1 + g % :merchants
JOIN shop_connections c ON c.merchant_id = m.id
CROSS JOIN LATERAL (SELECT (:today - (g % 150))::date AS invoice_date) d
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN g % 20 < 14 THEN 'open'
        WHEN g % 20 < 16 THEN 'partially_paid'
        WHEN g % 20 < 18 THEN 'paid'
        WHEN g % 20 = 18 THEN 'disputed'
        ELSE 'cancelled'
    END AS state
) s0
CROSS JOIN LATERAL (
    SELECT s0.state,
           CASE WHEN s0.state = 'partially_paid' THEN 10 WHEN s0.state = 'paid' THEN 20 + (g % 480) ELSE 0 END AS paid
) s
"""

GENERATE_NOTICES = """
INSERT INTO dunning_notices (
    merchant_id, receivable_id, kind, level, channel, fee, payment_deadline_days, queued_on, sent_on,
    sent_at, deadline_on, status, attempts, next_attempt_at, created_at
)
SELECT r.merchant_id, r.id, k.kind, k.level, 'email', k.fee, 5, k.sent_on, k.sent_on, now(),
       k.sent_on + 5, 'sent', 1, now(), now()
FROM receivables r
CROSS JOIN LATERAL (VALUES (1, 'reminder', 0.00), (2, 'dunning', 2.50)) AS v(level, kind, fee)
CROSS JOIN LATERAL (SELECT v.level, v.kind, v.fee, r.due_date + 7 + (v.level - 1) * 10 AS sent_on) k
WHERE k.level <= r.dunning_level
"""

GENERATE_STOPS = """
INSERT INTO dunning_buyer_stops (merchant_id, email_key, reason, created_by, created_at)
SELECT 1 + g % :merchants, md5('buyer' || g), 'benchmark', 'benchmark', now()
FROM generate_series(1, :stops) AS g
ON CONFLICT DO NOTHING
"""


def _scanned_rows(plan: dict) -> int:
    """Sum the rows every scan node on ``receivables`` produced (all loops)."""
    total = 0
    if plan.get("Relation Name") == "receivables":
        total += int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1))
        total += int(plan.get("Rows Removed by Filter", 0)) * int(plan.get("Actual Loops", 1))
    for child in plan.get("Plans", []):
        total += _scanned_rows(child)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument(
        "--database-url", default=os.environ.get("CLAIMBRIDGE_BENCHMARK_DATABASE_URL", DEFAULT_URL)
    )
    args = parser.parse_args()

    url = _recreate_database(args.database_url)
    app = create_app(
        {
            "CLAIMBRIDGE_ENV": "testing",
            "CLAIMBRIDGE_DATABASE_URL": url,
            "CLAIMBRIDGE_INSTANCE_PATH": tempfile.mkdtemp(prefix="claimbridge-bench-"),
        }
    )
    with app.app_context():
        upgrade(revision="heads")
        started = time.perf_counter()
        _create_merchants(args.merchants)
        params = {"rows": args.rows, "merchants": args.merchants, "buyers": args.rows // 2, "today": TODAY}
        db.session.execute(sa.text(GENERATE_RECEIVABLES), params)
        db.session.execute(sa.text(GENERATE_NOTICES))
        db.session.execute(sa.text(GENERATE_STOPS), {"merchants": args.merchants, "stops": 2_000})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
        notices = db.session.scalar(sa.text("SELECT count(*) FROM dunning_notices"))
        print(
            f"generated {args.rows:,} receivables and {notices:,} sent notices in {time.perf_counter() - started:.1f} s"
        )

        query = due_selection(TODAY, "postgresql", lock=False)
        rss_before = _peak_rss_mib()
        started = time.perf_counter()
        selected = 0
        with db.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_SIZE).execute(query)
            for partition in result.partitions(FETCH_SIZE):
                selected += len(partition)
        elapsed = time.perf_counter() - started
        peak = _peak_rss_mib()

        compiled = query.compile(db.engine, compile_kwargs={"render_postcompile": True})
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled.string}", compiled.params
            ).scalar_one()
        plan = plan if isinstance(plan, list) else json.loads(plan)
        scanned = _scanned_rows(plan[0]["Plan"])

        started = time.perf_counter()
        claimed = len(db.session.execute(due_selection(TODAY, "postgresql", limit=500)).all())
        claim_seconds = time.perf_counter() - started
        db.session.rollback()

    print(f"rows scanned:     {scanned:,}")
    print(f"rows selected:    {selected:,}")
    print(f"elapsed:          {elapsed:.2f} s (target < 60 s)")
    print(f"peak memory:      {peak:.0f} MiB RSS (before the evaluation: {rss_before:.0f} MiB)")
    print(f"one worker claim: {claimed} rows FOR UPDATE SKIP LOCKED in {claim_seconds:.2f} s")


if __name__ == "__main__":
    main()
