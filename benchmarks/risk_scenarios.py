"""How good are the risk engine's decisions? A labelled scenario suite through the real API.

    python benchmarks/risk_scenarios.py                        # default policy, SQLite
    python benchmarks/risk_scenarios.py --policy my-policy.json
    python benchmarks/risk_scenarios.py --good 6000 --bad-each 200 --database-url postgresql://…/bench

Good buyers (first-time and returning, consumers and businesses, guests and accounts, eight name origins, all
postal zones) and the fraud and default patterns a German shop meets are generated with a fixed seed
(``tests/risk/scenarios.py``) and played through ``POST /api/v1/risk-checks`` and the order API on a fresh
database. Printed: the share of good buyers who lose invoice, overall and by group; the share of each bad
pattern stopped at its harmful checkout; and the revenue those decisions move. Targets (DESIGN.md, issue 20):
under 2 % false declines, over 95 % of repeat-order fraud and fresh-identity bursts caught.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.risk.scenarios import (
    FRESH_IDENTITY_PATTERNS,
    REPEAT_ORDER_PATTERNS,
    Outcome,
    Rate,
    catch_rates,
    false_declines_by,
    flag_rates,
    generate,
    overall,
    run_scenarios,
)

FALSE_DECLINE_TARGET = 0.02
CATCH_TARGET = 0.95


def percent(rate: Rate) -> str:
    """Format a rate as "1.23 % (12/975)"."""
    return f"{rate.share * 100:6.2f} % ({rate.hits}/{rate.total})"


def report(outcomes: Sequence[Outcome]) -> bool:
    """Print the figures; return whether the targets are met."""
    good = overall(outcomes)
    print(f"good buyers losing invoice: {percent(good)}   target < {FALSE_DECLINE_TARGET:.0%}")
    for dimension in ("origin", "region", "account", "debtor", "history"):
        print(f"  by {dimension}:")
        for group, rate in false_declines_by(outcomes, dimension).items():
            print(f"    {group:<14} {percent(rate)}")
    print("bad patterns at their harmful checkout:   invoice hidden       flagged (review or decline)")
    flagged = flag_rates(outcomes)
    for pattern, rate in catch_rates(outcomes).items():
        targeted = pattern in REPEAT_ORDER_PATTERNS + FRESH_IDENTITY_PATTERNS
        print(
            f"  {pattern:<30} {percent(rate):<22} {percent(flagged[pattern]):<22}"
            f"{'target > 95 % hidden' if targeted else ''}"
        )
    repeat = overall(outcomes, REPEAT_ORDER_PATTERNS)
    fresh = overall(outcomes, FRESH_IDENTITY_PATTERNS)
    print(f"repeat-order fraud caught:      {percent(repeat)}")
    print(f"fresh-identity bursts caught:   {percent(fresh)}")
    lost = sum((o.amount_at_stake for o in outcomes if o.scenario.good), Decimal(0))
    good_total = sum(
        (Decimal(c.body["amount"]) for o in outcomes if o.scenario.good for c in o.scenario.checkouts),
        Decimal(0),
    )
    exposed = sum((o.amount_at_stake for o in outcomes if not o.scenario.good), Decimal(0))
    bad_total = sum(
        (Decimal(c.body["amount"]) for o in outcomes if not o.scenario.good for c in o.scenario.checkouts),
        Decimal(0),
    )
    print(f"good invoice revenue not offered invoice: €{lost:,.2f} of €{good_total:,.2f}")
    print(f"fraudulent carts still offered invoice:   €{exposed:,.2f} of €{bad_total:,.2f}")
    met = good.share < FALSE_DECLINE_TARGET and repeat.share > CATCH_TARGET and fresh.share > CATCH_TARGET
    print(f"targets {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--good", type=int, default=4000, help="good buyers")
    parser.add_argument("--bad-each", type=int, default=100, help="attempts of every bad pattern")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument(
        "--policy", type=Path, help="a policy JSON (as PUT /api/v1/policy takes); default policy"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL of an empty database; default a temporary SQLite"
    )
    args = parser.parse_args()
    policy = json.loads(args.policy.read_text(encoding="utf-8")) if args.policy else None
    scenarios = generate(args.good, args.bad_each, args.seed)
    started = time.perf_counter()
    outcomes = run_scenarios(scenarios, policy=policy, database_url=args.database_url)
    checks = sum(len(o.hidden) for o in outcomes)
    print(
        f"{len(outcomes)} scenarios, {checks} risk checks in {time.perf_counter() - started:.1f} s (seed {args.seed})"
    )
    sys.exit(0 if report(outcomes) else 1)


if __name__ == "__main__":
    main()
