"""Benchmark of the whole statement import: a camt.053 file into the database, matched and applied.

Where ``payment_matching.py`` measures parsing and matching alone, this one runs ``import_statement`` against a
real database: the merchant's open receivables are bulk-inserted from a generated labelled set (see
``tests/payments/generate.py``), then a camt.053 statement file is imported by ``claimbridge statements import``
in a fresh process (streamed from the file; transfers stored, matched, sure ones applied with their history,
audit and shop outbox rows), so the peak RSS printed is that command's own; then the file is imported again
here (nothing may change). ``--in-process`` imports in this process instead (its peak then includes what
generating the set left behind). Prints wall and CPU time, peak memory, the precision of the automatic matches
as stored, and the targets (issue 19). Run:
``python benchmarks/payment_import.py [--transactions N] [--receivables N] [--database-url URL] [--in-process]``
(default: a temporary SQLite file; a PostgreSQL URL must name an empty database).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import create_app
from backend.extensions import db
from backend.merchants.models import ShopConnection
from backend.merchants.services import create_merchant
from backend.payments.models import BankTransactionRecord, KnownPayerIban, MatchStatus, PaymentMatch
from backend.payments.services import ImportResult, import_statement
from backend.payments.statements import parse_statement
from backend.receivables.models import Receivable
from benchmarks._targets import Stopwatch, Targets, peak_rss_mib, reset_peak_rss
from tests.payments.generate import GeneratedSet, generate_set, write_camt053

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5000
TARGET_TX_PER_S = 4000
TARGET_PEAK_MIB = 300
TARGET_REIMPORT_S = 2.0


def _store_receivables(data: GeneratedSet, merchant_id: int, connection_id: int) -> None:
    """Insert the generated receivables with their ids, references and the buyers' known IBANs."""
    now = datetime.now(UTC)
    rows, ibans = [], []
    for receivable in data.receivables:
        buyer_key = f"buyer-{receivable.debtor_names[0]}"[:64]
        rows.append(
            {
                "id": receivable.id,
                "merchant_id": merchant_id,
                "connection_id": connection_id,
                "external_id": receivable.order_number,
                "number": receivable.invoice_number,
                "payment_reference": receivable.payment_reference,
                "state": "open",
                "currency": receivable.currency,
                "total_amount": receivable.open_amount,
                "paid_amount": Decimal("0.00"),
                "credited_amount": Decimal("0.00"),
                "debtor_kind": "consumer",
                "ordered_at": now,
                "invoice_date": receivable.due_date,
                "due_date": receivable.due_date,
                "invoice_has_default_notice": False,
                "buyer": {"last_name": receivable.debtor_names[0]},
                "billing_address": {},
                "line_items": [],
                "email_key": buyer_key,
                "dunning_level": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        ibans.extend(
            {"merchant_id": merchant_id, "email_key": buyer_key, "iban": iban, "learned_at": now}
            for iban in receivable.known_ibans
        )
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(Receivable.__table__), rows[start : start + BATCH])
    unique_ibans = list({(row["email_key"], row["iban"]): row for row in ibans}.values())
    for start in range(0, len(unique_ibans), BATCH):
        db.session.execute(sa.insert(KnownPayerIban.__table__), unique_ibans[start : start + BATCH])
    db.session.commit()


def _truth(data: GeneratedSet, statement: Path) -> dict[str, dict[int, Decimal]]:
    """Return each transfer's expected allocation by the transaction id the import will give it."""
    return {
        parsed.transaction_id: generated.expected
        for generated, parsed in zip(data.transfers, parse_statement(statement), strict=True)
    }


def _precision(truth: dict[str, dict[int, Decimal]]) -> tuple[int, int, int]:
    """Return (automatic transfers, correct ones, matchable transfers) from what the import stored."""
    applied: dict[str, dict[int, Decimal]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(BankTransactionRecord.transaction_id, PaymentMatch.receivable_id, PaymentMatch.amount)
        .join(PaymentMatch, PaymentMatch.transaction_id == BankTransactionRecord.id)
        .where(PaymentMatch.status == MatchStatus.AUTO_APPLIED.value)
    )
    for transaction_id, receivable_id, amount in rows:
        applied[transaction_id][receivable_id] = amount
    correct = sum(1 for tid, allocation in applied.items() if truth[tid] == allocation)
    matchable = sum(1 for expected in truth.values() if expected)
    return len(applied), correct, matchable


# The command as the console script runs it, telling its own peak RSS at exit. The kernel's figure for a child
# (RUSAGE_CHILDREN) is no use: the child starts as a copy of this process, whose generated set (100,000
# receivables and transfers) outweighs the import, and exec keeps that copy's peak in the child's ru_maxrss.
_CHILD = (
    "import atexit, sys\n"
    "from benchmarks._targets import peak_rss_mib\n"
    "atexit.register(lambda: print('peak RSS MiB:', peak_rss_mib(), file=sys.stderr))\n"
    "from backend.cli import main\n"
    "main()\n"
)
PEAK = "peak RSS MiB:"


def _import_in_child(
    url: str, instance: str, statement: Path, merchant_id: int
) -> tuple[ImportResult, Stopwatch, float]:
    """Run ``claimbridge statements import`` in a fresh process: its wall and CPU time, result and peak RSS."""
    environment = {
        **os.environ,
        "CLAIMBRIDGE_ENV": "testing",
        "CLAIMBRIDGE_DATABASE_URL": url,
        "CLAIMBRIDGE_INSTANCE_PATH": instance,
        "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-c", _CHILD]
    arguments = ["statements", "import", str(statement), "--merchant", str(merchant_id)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    watch = Stopwatch()
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    watch.wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    watch.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit("claimbridge statements import failed")
    peak = float(done.stderr.rpartition(PEAK)[2].split()[0])
    return ImportResult(**json.loads(done.stdout)), watch, peak


def main() -> None:
    """Generate, store the receivables, import twice and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--receivables", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="import in this process (peak RSS then includes what generating the set left behind)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/benchmark.db"
        app = create_app(
            {
                "CLAIMBRIDGE_ENV": "testing",
                "CLAIMBRIDGE_DATABASE_URL": url,
                "CLAIMBRIDGE_INSTANCE_PATH": tmp,
            }
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            data = generate_set(transfers=args.transactions, receivables=args.receivables, seed=args.seed)
            statement = Path(tmp) / "statement.xml"
            with statement.open("w", encoding="utf-8") as out:
                write_camt053(data.transfers, out)
            merchant = create_merchant("Benchmark Shop", actor="benchmark")
            connection = ShopConnection(
                merchant_id=merchant.id, platform="api", shop_url="https://shop.example", status="active"
            )
            db.session.add(connection)
            db.session.flush()
            merchant_id = merchant.id
            _store_receivables(data, merchant_id, connection.id)
            truth = _truth(data, statement)
            print(
                f"prepared {args.receivables} receivables and a {statement.stat().st_size / 2**20:.1f} MiB"
                f" camt.053 with {args.transactions} transactions in {time.perf_counter() - started:.1f} s"
            )
            del data
            db.session.commit()
            db.session.expunge_all()
            gc.collect()
            if args.in_process:
                reset = reset_peak_rss()
                baseline = peak_rss_mib()
                with Stopwatch() as first_time:
                    first = import_statement(merchant_id, statement, actor="benchmark")
                    db.session.commit()
            else:
                first, first_time, peak = _import_in_child(url, tmp, statement, merchant_id)
            with Stopwatch() as second_time:
                second = import_statement(merchant_id, statement, actor="benchmark")
                db.session.commit()
            if args.in_process:
                peak = peak_rss_mib()
            automatic, correct, matchable = _precision(truth)

    rate = args.transactions / first_time.wall
    print(f"import     {first_time.wall:7.2f} s  ({rate:,.0f} tx/s; {first_time.cpu:.2f} s CPU)  {first}")
    print(f"re-import  {second_time.wall:7.2f} s  ({second_time.cpu:.2f} s CPU)  {second}")
    if args.in_process:
        since = "the import started" if reset else "the process started"
        print(f"peak RSS {peak:.0f} MiB since {since} ({baseline:.0f} MiB before)")
    else:
        print(
            f"peak RSS {peak:.0f} MiB of the `claimbridge statements import` process (its time includes start-up)"
        )
    precision = correct / automatic if automatic else 1.0
    recall = correct / matchable if matchable else 0
    print(
        f"automatic {automatic}, correct {correct}: precision {precision:.4f};"
        f" recall of matchable transfers {recall:.4f}"
    )
    targets = Targets()
    targets.at_least("statement import", rate, TARGET_TX_PER_S, "tx/s")
    targets.below(f"peak RSS ({args.transactions:,} transfers)", peak, TARGET_PEAK_MIB, "MiB")
    targets.below("unchanged re-import", second_time.wall, TARGET_REIMPORT_S, "s", digits=2)
    database = "PostgreSQL" if args.database_url and args.database_url.startswith("postgres") else "SQLite"
    targets.report(database)


if __name__ == "__main__":
    main()
