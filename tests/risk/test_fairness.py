"""Fairness: invoice is not withheld more often by the origin of a buyer's name or by region.

The same good buyers are played once per name origin (only the name, and the e-mail written from it, differ)
and once per postal zone (only the postcode and place differ), each batch at a merchant of its own, through
the real API. A group whose false-decline rate exceeds the reference group's by more than ``TOLERANCE`` fails
the test, naming the buyers it treated differently. No signal may look at a name's origin; these tests make
sure none does so by accident either (transliteration, keyboard-pattern and placeholder-name rules).
"""

from collections.abc import Iterator

import pytest

from tests.risk.scenarios import (
    FRESH_IDENTITY_PATTERNS,
    REPEAT_ORDER_PATTERNS,
    Outcome,
    ScenarioShop,
    generate,
    overall,
    paired_by_origin,
    paired_by_region,
)

# Stated tolerance: a group may lose invoice at most one percentage point more often than the reference group.
TOLERANCE = 0.01
BUYERS = 80


@pytest.fixture(scope="module")
def shop() -> Iterator[ScenarioShop]:
    with ScenarioShop() as shop:
        yield shop


def _treated_worse(results: list[Outcome], reference: list[Outcome]) -> list[tuple[dict, list[list[str]]]]:
    return [
        (mine.scenario.checkouts[0].body["buyer"], mine.reasons)
        for mine, theirs in zip(results, reference, strict=True)
        if mine.withheld and not theirs.withheld
    ]


# The signals that read a name (e-mail/name match, placeholder names, a legal form in a name field) weighted
# so that each alone declines: a name-dependent rule that treats one origin worse shows up at once here.
NAME_SIGNALS_DECISIVE = {
    "weights": {"EMAIL_NAME_MISMATCH": 70, "TEST_ORDER_NAME": 70, "COMPANY_IN_CONSUMER_ORDER": 70}
}


@pytest.mark.parametrize(
    "policy", [None, NAME_SIGNALS_DECISIVE], ids=["default policy", "name signals decisive"]
)
def test_name_origin_does_not_cost_invoice(shop, policy):
    outcomes = {origin: shop.run(batch, policy=policy) for origin, batch in paired_by_origin(BUYERS).items()}
    reference = outcomes["german"]
    baseline = overall(reference).share
    if policy is None:
        assert baseline < 0.02
    for origin, results in outcomes.items():
        rate = overall(results).share
        assert rate <= baseline + TOLERANCE, (origin, rate, baseline, _treated_worse(results, reference)[:5])


def test_bad_patterns_are_stopped_under_the_default_policy(shop):
    outcomes = shop.run(generate(good=0, bad_each=3, seed=5))
    targeted = overall(outcomes, REPEAT_ORDER_PATTERNS + FRESH_IDENTITY_PATTERNS)
    assert targeted.hits == targeted.total > 0, [
        (o.scenario.label, o.decisions, o.reasons[-1]) for o in outcomes if not o.withheld
    ]


def test_region_does_not_cost_invoice(shop):
    outcomes = {zone: shop.run(batch) for zone, batch in paired_by_region(BUYERS // 2).items()}
    rates = {zone: overall(results).share for zone, results in outcomes.items()}
    best = min(rates, key=rates.__getitem__)
    for zone, rate in rates.items():
        assert rate <= rates[best] + TOLERANCE, (
            zone,
            rates,
            _treated_worse(outcomes[zone], outcomes[best])[:5],
        )
