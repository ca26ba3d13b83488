"""Benchmark ``claimbridge orders import`` on a generated 100,000-row file: time, peak RSS, the targets.

Runs the real CLI command in this process against a fresh SQLite database (or ``--database-url``, an empty
PostgreSQL database) three times: a dry run, the import (one streaming pass, stored in batches, committed at
the end) and the same file again (every row unchanged). The peak RSS is reset before each step (Linux), so
each step's own peak is printed; a growing number would show rows being held. A file of more than one batch
is checked by a forked child process: its CPU time is printed beside this process's, and its memory is a
copy-on-write fork of this one's. On PostgreSQL (on this machine) the CPU time of the server backends serving
this process is printed too: the server's share of each step. Ends with the targets of issue 19 and whether
they were met.

    python benchmarks/csv_import.py [--rows 100000] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import create_app
from backend.cli import main
from backend.extensions import db
from backend.merchants.services import create_merchant
from benchmarks._targets import Stopwatch, Targets, peak_rss_mib, reset_peak_rss
from benchmarks.notice_sending import backends_cpu

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


TARGET_ROWS_PER_S = 10_000
TARGET_PEAK_MIB = 300


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
        print(f"peak RSS before import: {peak_rss_mib():.0f} MiB")
        on_postgres = bool(args.database_url) and args.database_url.startswith("postgres")
        # The application name of this process's connections, by which ``backends_cpu`` finds their backends.
        os.environ["PGAPPNAME"] = f"csv-import-{os.getpid()}"
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
        figures: dict[str, tuple[float, float]] = {}
        for label, extra in (("dry run", ["--dry-run"]), ("import", []), ("re-import", [])):
            reset_peak_rss()
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            with app.app_context():
                backends_before = backends_cpu() if on_postgres else {}
            with Stopwatch() as watch:
                result = runner.invoke(
                    main,
                    ["orders", "import", str(csv_path), "--merchant", str(merchant_id), *extra],
                    obj=ScriptInfo(create_app=lambda: app),
                )
            if result.exit_code != 0:
                print(result.output, file=sys.stderr)
                raise SystemExit(f"{label} failed")
            peak = peak_rss_mib()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            checker_cpu = sum(children[:2]) - sum(children_before[:2])  # the import's checking child process
            server = ""
            if on_postgres:
                with app.app_context():
                    used = backends_cpu()
                server = f", {sum(used[pid] - backends_before.get(pid, 0.0) for pid in used):.1f} s in its backends"
            figures[label] = (args.rows / watch.wall, peak)
            print(result.stdout.strip().splitlines()[-1])
            print(
                f"{label}: {watch.wall:.1f} s ({args.rows / watch.wall:,.0f} rows/s;"
                f" {watch.cpu:.1f} s CPU in this process, {checker_cpu:.1f} s in its child{server}),"
                f" peak RSS {peak:.0f} MiB"
                " (this process)"
            )
    targets = Targets()
    targets.at_least("CSV import", figures["import"][0], TARGET_ROWS_PER_S, "rows/s")
    targets.below(
        f"peak RSS ({args.rows:,} rows)", max(peak for _, peak in figures.values()), TARGET_PEAK_MIB, "MiB"
    )
    database = "PostgreSQL" if on_postgres else "SQLite"
    targets.report(database)


if __name__ == "__main__":
    main_benchmark()
