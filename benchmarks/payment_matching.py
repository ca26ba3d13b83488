"""Benchmark of statement import plus payment matching: time, peak memory, precision and recall.

Generates a labelled statement (default 100,000 transactions against 100,000 open receivables, see
``tests/payments/generate.py``) in a child process, so this process's peak memory covers only loading
the receivables, parsing and matching. Then parses it (camt.053 streamed from disk, or MT940), matches
and prints the figures. Run: ``python benchmarks/payment_matching.py [--transactions N] [--receivables N]
[--format camt053|mt940] [--seed S]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.payments.matching import match_payments
from backend.payments.statements import parse_camt053, parse_mt940
from tests.payments.generate import evaluate, generate_set, write_camt053, write_mt940


def _generate(directory: Path, transactions: int, receivables: int, seed: int, statement_format: str) -> None:
    data = generate_set(transfers=transactions, receivables=receivables, seed=seed)
    with (directory / "statement").open("w", encoding="utf-8") as out:
        if statement_format == "camt053":
            write_camt053(data.transfers, out)
        else:
            write_mt940(data.transfers, out)
    with (directory / "data.pickle").open("wb") as out:
        pickle.dump(data, out)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    """Generate, parse, match and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--receivables", type=int, default=100_000)
    parser.add_argument("--format", choices=("camt053", "mt940"), default="camt053")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(
            target=_generate, args=(directory, args.transactions, args.receivables, args.seed, args.format)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("generating the statement failed")
        statement = directory / "statement"
        print(
            f"generated {args.format} with {args.transactions} transactions: "
            f"{statement.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - started:.1f} s"
        )

        with (directory / "data.pickle").open("rb") as source:
            data = pickle.load(source)  # noqa: S301 - written by this process's own child just now
        baseline = _peak_mib()

        started = time.perf_counter()
        if args.format == "camt053":
            transactions = list(parse_camt053(statement))
        else:
            transactions = parse_mt940(statement.read_bytes())
        parsed = time.perf_counter()
        proposals = match_payments(transactions, data.receivables)
        matched = time.perf_counter()

    quality = evaluate(data.transfers, transactions, proposals)
    print(
        f"parse   {parsed - started:7.2f} s  ({len(transactions) / (parsed - started):,.0f} transactions/s)"
    )
    print(f"match   {matched - parsed:7.2f} s  ({len(proposals) / (matched - parsed):,.0f} credits/s)")
    print(f"total   {matched - started:7.2f} s")
    print(
        f"peak RSS {_peak_mib():.0f} MiB (after loading the generated receivables and truth: {baseline:.0f} MiB)"
    )
    print(quality.report())


if __name__ == "__main__":
    main()
