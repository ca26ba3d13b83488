"""Instructions per warm risk check, counted by callgrind: a figure other work on a shared machine cannot move.

    python benchmarks/risk_check_instructions.py                      # SQLite
    python benchmarks/risk_check_instructions.py --database-url postgresql://postgres@127.0.0.1:5432/test

Sets up a database as risk_check_stages.py does (a merchant, an API client, earlier checks; PostgreSQL's public
schema is reset!), then runs this script again under ``valgrind --tool=callgrind``: the app is made, a token
fetched and ``--warm`` checks sent through the WSGI callable, then ``--checks`` more are sent from inside
``itertools.starmap``, and callgrind counts only inside that (``--toggle-collect=starmap_next``; nothing on the
request path uses starmap). CPU time on a machine shared with other work swings by ±15 %; two runs of the same
code count within 0.5 % of each other. Counts are of this process only (SQLite's work included, a PostgreSQL
server's not).

The temporary directory (its path printed) is kept for ``callgrind_annotate`` on its ``callgrind.out``; the
throwaway API client's secret that the measured run read from it is deleted once that run ends.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk_check_http import prefill_history, prepare_database, realistic_bodies, reset_postgres
from risk_check_stages import bearer_headers, wsgi_post


def measure(workdir: Path, warm: int, checks: int) -> None:
    """Send ``warm`` checks, then ``checks`` more inside ``itertools.starmap`` (run under callgrind)."""
    setup = json.loads((workdir / "setup.json").read_text())
    bodies = [body.encode() for body in setup["bodies"]]
    from backend import create_app

    app = create_app()
    headers = bearer_headers(app, setup["creds"]["client_id"], setup["creds"]["client_secret"])

    def check(body: bytes) -> None:
        status = wsgi_post(app, "/api/v1/risk-checks", body, headers)
        assert status.startswith("201"), status

    for body in bodies[:warm]:
        check(body)
    gc.collect()
    gc.freeze()  # as in risk_check_stages.py: the set-up's objects out of the collector's way
    list(itertools.starmap(check, ((body,) for body in bodies[warm : warm + checks])))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!); default SQLite")
    parser.add_argument("--checks", type=int, default=150, help="checks counted")
    parser.add_argument("--warm", type=int, default=100, help="checks sent before counting")
    parser.add_argument("--history", type=int, default=3000, help="earlier checks stored before measuring")
    parser.add_argument("--measure", metavar="WORKDIR", help=argparse.SUPPRESS)  # the run under callgrind
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure), args.warm, args.checks)
        return

    workdir = Path(tempfile.mkdtemp(prefix="cb-instructions-"))
    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": str(workdir / "instance"),
        "CLAIMBRIDGE_LOG_LEVEL": "WARNING",
        "PYTHONHASHSEED": "0",  # the same dict and set layouts in every run
    }
    if args.database_url:
        reset_postgres(args.database_url)
        env["CLAIMBRIDGE_DATABASE_URL"] = args.database_url
    merchant_id, creds = prepare_database(env)
    returning = prefill_history(env, merchant_id, args.history)
    bodies = [json.dumps(body) for body in realistic_bodies(args.warm + args.checks, returning=returning)]
    (workdir / "setup.json").write_text(json.dumps({"creds": creds, "bodies": bodies}))

    out = workdir / "callgrind.out"
    try:
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=starmap_next",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--measure",
                str(workdir),
                "--warm",
                str(args.warm),
                "--checks",
                str(args.checks),
            ],
            env=env,
            check=False,
            capture_output=True,
        )
    finally:
        (workdir / "setup.json").unlink()  # the throwaway client's secret goes with the run
    if run.returncode != 0:
        sys.stderr.write(run.stderr.decode(errors="replace"))
        raise SystemExit(f"valgrind exited with status {run.returncode} (its output above)")
    totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if totals is None:
        raise SystemExit(f"no summary or totals line in callgrind's output {out}")
    total = int(totals.group(1))
    print(
        f"database: {'postgresql' if args.database_url else 'sqlite'}, history: {args.history} earlier checks,"
        f" {args.warm} warm"
    )
    print(f"instructions per check: {total // args.checks:,} ({args.checks} checks, {total:,} in all)")
    print(f"callgrind's output: {out}")


if __name__ == "__main__":
    main()
