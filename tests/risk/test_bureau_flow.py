"""The engine with the real PAYONE adapter against the local PAYONE double, as the backend wires them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from backend.merchants.policy import ReasonCode, RiskPolicy
from backend.risk.bureau import bureau_result_for
from backend.risk.engine import Action, Rule, evaluate, should_call_bureau
from backend.risk.inputs import BuyerContext, CheckInput
from connectors.bureaus.payone import PayoneBureau
from tests.fakes.payone import PATH, FakePayone
from tests.fakes.server import FakeServer

RETURNING = BuyerContext(previous_orders=2)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakePayone()) as running:
        yield running


@pytest.fixture
def bureau(server: FakeServer) -> PayoneBureau:
    fake = FakePayone()
    return PayoneBureau(
        merchant_id=fake.merchant_id,
        portal_id=fake.portal_id,
        sub_account_id=fake.sub_account_id,
        portal_key=fake.portal_key,
        base_url=server.url + PATH,
        allow_private=True,
        timeout_budget=0.4,
    )


def check_with_bureau(
    check: CheckInput, policy: RiskPolicy, bureau: PayoneBureau
) -> tuple[Action, Rule, bool]:
    # The buyer has chosen invoice: only then may a bureau be asked.
    check = replace(check, selected_payment_method="invoice")
    decision = evaluate(check, RETURNING, policy)
    called = should_call_bureau(check, policy, decision=decision)
    if called:
        decision = evaluate(check, RETURNING, policy, bureau_result=bureau_result_for(bureau, check))
    return decision.action, decision.rule, called


class TestBureauFlow:
    def test_red_person_is_declined_by_the_bureau(self, make_check, bureau: PayoneBureau) -> None:
        policy = RiskPolicy.from_dict({"bureau": {"enabled": True, "min_amount": "200.00"}})
        check = make_check(amount="300.00", billing_address={"last_name": "Rot"})
        decision = evaluate(check, RETURNING, policy, bureau_result=bureau_result_for(bureau, check))
        assert decision.action is Action.DECLINE
        assert ReasonCode.BUREAU_RED in decision.reason_codes

    def test_green_person_keeps_invoice(self, make_check, bureau: PayoneBureau, server: FakeServer) -> None:
        policy = RiskPolicy.from_dict({"bureau": {"enabled": True, "min_amount": "200.00"}})
        assert check_with_bureau(make_check(amount="300.00"), policy, bureau) == (
            Action.ACCEPT,
            Rule.SCORE_ACCEPT,
            True,
        )
        assert len(server.requests) == 1

    def test_small_carts_never_reach_the_bureau(
        self, make_check, bureau: PayoneBureau, server: FakeServer
    ) -> None:
        policy = RiskPolicy.from_dict({"bureau": {"enabled": True, "min_amount": "200.00"}})
        assert check_with_bureau(make_check(amount="50.00"), policy, bureau)[2] is False
        assert server.requests == []

    def test_bureau_timeout_under_hide_invoice(
        self, make_check, bureau: PayoneBureau, server: FakeServer
    ) -> None:
        server.delay_next(1, seconds=1.5, path=PATH)
        policy = RiskPolicy.from_dict({"fail_mode": "hide_invoice", "bureau": {"enabled": True}})
        assert check_with_bureau(make_check(amount="300.00"), policy, bureau) == (
            Action.DECLINE,
            Rule.BUREAU_UNAVAILABLE,
            True,
        )

    def test_bureau_timeout_under_allow_up_to(
        self, make_check, bureau: PayoneBureau, server: FakeServer
    ) -> None:
        server.delay_next(1, seconds=1.5, path=PATH)
        policy = RiskPolicy.from_dict(
            {"fail_mode": "allow_up_to", "bureau_fail_max_amount": "400.00", "bureau": {"enabled": True}}
        )
        assert check_with_bureau(make_check(amount="300.00"), policy, bureau)[:2] == (
            Action.ACCEPT,
            Rule.SCORE_ACCEPT,
        )

    def test_bureau_refusal_counts_as_unavailable(self, make_check, bureau: PayoneBureau) -> None:
        policy = RiskPolicy.from_dict(
            {"fail_mode": "hide_invoice", "bureau": {"enabled": True, "score_type": "ZZ"}}
        )
        bureau.score_type = policy.bureau.score_type
        assert check_with_bureau(make_check(amount="300.00"), policy, bureau)[:2] == (
            Action.DECLINE,
            Rule.BUREAU_UNAVAILABLE,
        )
