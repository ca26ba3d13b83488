"""Benchmark ``claimbridge orders import`` on a generated 100,000-row file: wall time and peak RSS.

Runs the real CLI command in this process against a fresh SQLite database (or ``--database-url``), twice:
a dry run (one streaming pass) and the import (check pass plus import pass in one transaction). Peak RSS is
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after each step, so a growing number would show rows being held.

    python benchmarks/csv_import.py [--rows 100000] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner
from flask.cli import ScriptInfo
from flask_migrate import upgrade

from backend import create_app
from backend.cli import main
from backend.extensions import db
from backend.merchants.services import create_merchant

HEADER = "external_id,number,total,currency,ordered_at,due_date,state,paid_amount,email,first_name,last_name,street,house_number,postal_code,city,country"


def generate(path: Path, rows: int) -> None:
    """Write ``rows`` plausible open items."""
    rng = random.Random(42)
    first_day = date(2024, 1, 1)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n")
        for n in range(1, rows + 1):
            ordered = first_day + timedelta(days=rng.randrange(300))
            total = rng.randrange(500, 150000) / 100
            partial = rng.random() < 0.1
            state, paid = ("partially_paid", f"{total / 2:.2f}") if partial else ("open", "")
            handle.write(
                f"OP-{n:07d},RE-{n:07d},{total:.2f},EUR,{ordered.isoformat()},{ordered + timedelta(days=14)},"
                f"{state},{paid},kunde{n}@example.com,Erika,Muster{n % 997},Musterstraße,{n % 200 + 1},"
                f"{10115 + n % 80000:05d},Berlin,DE\n"
            )


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main_benchmark() -> None:
    """Generate the file, run dry run and import, print time and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csv-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "open_items.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        print(
            f"generated {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s"
        )
        print(f"peak RSS before import: {peak_rss_mb():.0f} MiB")
        app = create_app(
            {
                "CLAIMBRIDGE_ENV": "testing",
                "CLAIMBRIDGE_INSTANCE_PATH": str(workdir / "instance"),
                "CLAIMBRIDGE_DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'bench.db'}",
                "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            upgrade(revision="heads")
            merchant_id = create_merchant("Benchmark GmbH", actor="benchmark").id
            db.session.commit()
        runner = CliRunner()
        for label, extra in (("dry run", ["--dry-run"]), ("import", [])):
            started = time.perf_counter()
            result = runner.invoke(
                main,
                ["orders", "import", str(csv_path), "--merchant", str(merchant_id), *extra],
                obj=ScriptInfo(create_app=lambda: app),
            )
            elapsed = time.perf_counter() - started
            if result.exit_code != 0:
                print(result.output, file=sys.stderr)
                raise SystemExit(f"{label} failed")
            print(result.stdout.strip().splitlines()[-1])
            print(
                f"{label}: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s), peak RSS {peak_rss_mb():.0f} MiB"
            )


if __name__ == "__main__":
    main_benchmark()
