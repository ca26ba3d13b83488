"""Benchmark of the whole statement import: upload-sized file into the database, matched and applied.

Where ``payment_matching.py`` measures parsing and matching alone, this one runs ``import_statement`` against a
real database: the merchant's open receivables are bulk-inserted from a generated labelled set (see
``tests/payments/generate.py``), then a camt.053 statement is imported (transfers stored, matched, sure ones
applied with their history, audit and shop outbox rows), then imported again (nothing may change). Prints
time, peak memory and the precision of the automatic matches as stored. Run:
``python benchmarks/payment_import.py [--transactions N] [--receivables N] [--database-url URL]``
(default: a temporary SQLite file; a PostgreSQL URL must name an empty database).
"""

from __future__ import annotations

import argparse
import io
import resource
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
from backend.payments.services import import_statement
from backend.payments.statements import parse_statement
from backend.receivables.models import Receivable
from tests.payments.generate import GeneratedSet, generate_set, write_camt053

BATCH = 5000


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


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


def _precision(data: GeneratedSet, statement: bytes) -> tuple[int, int, int]:
    """Return (automatic transfers, correct ones, matchable transfers) from what the import stored."""
    truth = {
        parsed.transaction_id: generated
        for generated, parsed in zip(data.transfers, parse_statement(statement), strict=True)
    }
    applied: dict[str, dict[int, Decimal]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(BankTransactionRecord.transaction_id, PaymentMatch.receivable_id, PaymentMatch.amount)
        .join(PaymentMatch, PaymentMatch.transaction_id == BankTransactionRecord.id)
        .where(PaymentMatch.status == MatchStatus.AUTO_APPLIED.value)
    )
    for transaction_id, receivable_id, amount in rows:
        applied[transaction_id][receivable_id] = amount
    correct = sum(1 for tid, allocation in applied.items() if truth[tid].expected == allocation)
    matchable = sum(1 for generated in truth.values() if generated.expected)
    return len(applied), correct, matchable


def main() -> None:
    """Generate, store the receivables, import twice and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--receivables", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
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
            out = io.StringIO()
            write_camt053(data.transfers, out)
            statement = out.getvalue().encode()
            merchant = create_merchant("Benchmark Shop", actor="benchmark")
            connection = ShopConnection(
                merchant_id=merchant.id, platform="api", shop_url="https://shop.example", status="active"
            )
            db.session.add(connection)
            db.session.flush()
            _store_receivables(data, merchant.id, connection.id)
            print(
                f"prepared {args.receivables} receivables and a {len(statement) / 2**20:.1f} MiB camt.053 with"
                f" {args.transactions} transactions in {time.perf_counter() - started:.1f} s"
            )
            baseline = _peak_mib()

            started = time.perf_counter()
            first = import_statement(merchant.id, statement, actor="benchmark")
            db.session.commit()
            imported = time.perf_counter()
            second = import_statement(merchant.id, statement, actor="benchmark")
            db.session.commit()
            reimported = time.perf_counter()
            automatic, correct, matchable = _precision(data, statement)

    print(
        f"import     {imported - started:7.2f} s  ({args.transactions / (imported - started):,.0f} tx/s)  {first}"
    )
    print(f"re-import  {reimported - imported:7.2f} s  {second}")
    print(f"peak RSS {_peak_mib():.0f} MiB (before importing: {baseline:.0f} MiB)")
    precision = correct / automatic if automatic else 1.0
    print(
        f"automatic {automatic}, correct {correct}: precision {precision:.4f};"
        f" recall of matchable transfers {correct / matchable if matchable else 0:.4f}"
    )


if __name__ == "__main__":
    main()
