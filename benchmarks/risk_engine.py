"""Micro-benchmark of the offline risk engine: evaluations per second on one core, for varied buyers.

Buyers use real (postal code, city) pairs from the engine's GeoNames table; about one in five carries a
risk marker (disposable e-mail, Packstation, wrong city, foreign or premium phone, placeholder name, bad
history, high velocity). Run: ``python benchmarks/risk_engine.py [--checks 20000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.merchants.policy import RiskPolicy
from backend.risk.engine import evaluate
from backend.risk.identity import phone_facts
from backend.risk.inputs import BuyerContext, CheckInput, VelocityCounts
from backend.risk.signals import german_postal_places, parse_email

FIRST_NAMES = (
    "Anna",
    "Jonas",
    "Lea",
    "Lukas",
    "Marie",
    "Paul",
    "Sophie",
    "Felix",
    "Jürgen",
    "Özlem",
    "Björn",
)
LAST_NAMES = (
    "Schmidt",
    "Müller",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Öztürk",
    "Groß",
)
STREETS = (
    "Hauptstraße",
    "Schulstr.",
    "Gartenweg",
    "Bahnhofstraße",
    "Am Markt",
    "Lindenallee",
    "Karl-Marx-Str.",
)
MAIL_DOMAINS = ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de")


def make_buyer(rng: random.Random, places: list[tuple[str, str]]) -> tuple[CheckInput, BuyerContext]:
    """Build one realistic, randomly varied check input and its buyer context."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    postal_code, city = rng.choice(places)
    email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}".lower()
    phone = f"01{rng.choice('567')}{rng.randint(1, 9)} {rng.randint(1000000, 9999999)}"
    billing = {
        "first_name": first,
        "last_name": last,
        "street": rng.choice(STREETS),
        "house_number": str(rng.randint(1, 120)),
        "postal_code": postal_code,
        "city": city,
        "country": "DE",
    }
    payload: dict = {
        "amount": str(Decimal(rng.randint(999, 120000)) / 100),
        "currency": "EUR",
        "payment_methods": ["invoice", "paypal", "creditcard"],
        "buyer": {"email": email, "phone": phone, "first_name": first, "last_name": last},
        "billing_address": billing,
        "ip": f"203.0.113.{rng.randint(1, 254)}",
    }
    context = BuyerContext(previous_orders=rng.choice((0, 0, 1, 3, 12)))
    risk = rng.randrange(10)
    if risk == 0:
        payload["buyer"]["email"] = f"{first}@mailinator.com".lower()
    elif risk == 1:
        payload["shipping_address"] = {
            **billing,
            "street": "Packstation",
            "house_number": str(rng.randint(100, 999)),
        }
    elif risk == 2:
        billing["city"] = rng.choice(places)[1]
    elif risk == 3:
        payload["buyer"]["phone"] = rng.choice(("+44 7400 123456", "0900 1234567", "12345"))
    elif risk == 4:
        payload["buyer"]["first_name"], payload["buyer"]["last_name"] = "Max", "Mustermann"
    elif risk == 5:
        context = BuyerContext(
            previous_orders=4,
            dunned_orders=1,
            open_exposure=Decimal("1800.00"),
            velocity={"email": VelocityCounts(orders_24h=4, orders_30d=6)},
        )
    return CheckInput.from_payload(payload), context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    table = german_postal_places()
    print(f"data load (once per process): {(time.perf_counter() - started) * 1000:.0f} ms")
    rng = random.Random(args.seed)
    places = [(postal_code, entry.names[0]) for postal_code, entry in table.items()]
    warm_up_rng = random.Random(args.seed + 1)
    warm_up = [make_buyer(warm_up_rng, places) for _ in range(200)]
    buyers = [make_buyer(rng, places) for _ in range(args.checks)]
    policy = RiskPolicy()
    for check, context in warm_up:
        evaluate(check, context, policy)
    parse_email.cache_clear()
    phone_facts.cache_clear()

    durations: list[float] = []
    actions: dict[str, int] = {}
    total_started = time.perf_counter()
    for check, context in buyers:
        started = time.perf_counter()
        decision = evaluate(check, context, policy)
        durations.append(time.perf_counter() - started)
        actions[decision.action] = actions.get(decision.action, 0) + 1
    total = time.perf_counter() - total_started

    quantiles = statistics.quantiles(durations, n=100)
    print(f"evaluations: {len(buyers)} in {total:.2f} s -> {len(buyers) / total:,.0f} per second (one core)")
    print(f"per evaluation: p50 {quantiles[49] * 1e6:.0f} us, p99 {quantiles[98] * 1e6:.0f} us")
    print(f"memoised e-mail parses: {parse_email.cache_info().hits} of {len(buyers)} (repeat buyers)")
    print("decisions:", ", ".join(f"{action} {count}" for action, count in sorted(actions.items())))


if __name__ == "__main__":
    main()
