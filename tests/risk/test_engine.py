from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from backend.merchants.policy import BureauSettings, ReasonCode, RiskPolicy
from backend.risk.bureau import bureau_person, bureau_result_for
from backend.risk.engine import (
    Action,
    Override,
    Rule,
    bureau_failure_allows_invoice,
    evaluate,
    invoice_methods_on_offer,
    should_call_bureau,
)
from backend.risk.inputs import BuyerContext, CheckInput
from connectors.bureaus.base import BureauPerson, BureauResult, CreditBureau
from connectors.errors import TimeoutError as ConnectorTimeoutError

RETURNING = BuyerContext(previous_orders=3)
NEW = BuyerContext()
PACKSTATION = {
    "first_name": "Anna",
    "last_name": "Schmidt",
    "street": "Packstation",
    "house_number": "123",
    "company": "12345678",
    "postal_code": "60311",
    "city": "Frankfurt am Main",
    "country": "DE",
}
RED = BureauResult("payone", traffic_light="R", score_value=120, person_status="PPB")
GREEN = BureauResult("payone", traffic_light="G", score_value=720, person_status="PPB")
DOWN = BureauResult.failure("payone", "timed out")


@pytest.fixture
def risky_check(make_check) -> CheckInput:
    """The issue's risky buyer: Packstation, disposable e-mail, PLZ of another city, large first order."""
    return make_check(
        amount="780.00",
        buyer={"email": "anna.schmidt@mailinator.com"},
        billing_address={"postal_code": "80331", "city": "Hamburg"},
        shipping_address=PACKSTATION,
    )


class TestEvaluate:
    def test_clean_buyer_with_a_normal_cart_is_accepted(self, make_check, policy) -> None:
        decision = evaluate(make_check(), RETURNING, policy)
        assert decision.action is Action.ACCEPT
        assert decision.rule is Rule.SCORE_ACCEPT
        assert decision.score == 0
        assert decision.reasons == ()
        assert decision.hidden_methods == ()
        assert decision.allowed_methods == ("invoice", "paypal")

    def test_clean_first_time_buyer_is_accepted_with_its_reason(self, make_check, policy) -> None:
        decision = evaluate(make_check(), NEW, policy)
        assert decision.action is Action.ACCEPT
        assert decision.reason_codes == {ReasonCode.FIRST_ORDER}
        assert decision.score == policy.weight(ReasonCode.FIRST_ORDER)

    def test_the_issues_risky_buyer_is_declined_and_invoice_hidden(self, risky_check, policy) -> None:
        decision = evaluate(risky_check, NEW, policy)
        assert decision.action is Action.DECLINE
        assert decision.rule is Rule.SCORE_DECLINE
        assert decision.reason_codes == {
            ReasonCode.PACKSTATION_SHIPPING,
            ReasonCode.EMAIL_DISPOSABLE,
            ReasonCode.POSTAL_CODE_CITY_MISMATCH,
            ReasonCode.FIRST_ORDER_AMOUNT_LIMIT,
            ReasonCode.FIRST_ORDER,
            ReasonCode.SHIPPING_ADDRESS_DIFFERS,
        }
        assert decision.score == 100
        assert decision.hidden_methods == ("invoice",)
        assert decision.allowed_methods == ("paypal",)

    def test_score_is_the_capped_sum_of_reason_weights(self, make_check, policy) -> None:
        decision = evaluate(make_check(amount="600.00", buyer={"email": "anna@mailinator.com"}), NEW, policy)
        assert decision.score == min(100, sum(reason.weight for reason in decision.reasons))
        assert [reason.weight for reason in decision.reasons] == sorted(
            (reason.weight for reason in decision.reasons), reverse=True
        )

    def test_zero_weight_switches_a_signal_off(self, make_check) -> None:
        policy = RiskPolicy.from_dict({"weights": {"FIRST_ORDER": 0}})
        assert evaluate(make_check(), NEW, policy).reasons == ()

    def test_warnings_point_at_input_fields(self, make_check, policy) -> None:
        decision = evaluate(
            make_check(billing_address={"postal_code": "80331", "city": "Berlin"}), RETURNING, policy
        )
        assert [(warning.code, warning.field) for warning in decision.warnings] == [
            ("CITY_NOT_AT_POSTAL_CODE", "/billing_address/postal_code")
        ]

    def test_all_invoice_like_methods_are_hidden_on_decline(self) -> None:
        check = CheckInput.from_payload(
            {
                "amount": "780.00",
                "payment_methods": ["payment_invoicepayment", "paypal", "invoice", "prepayment"],
                "buyer": {"email": "x@mailinator.com"},
                "billing_address": {
                    "street": "Postfach 1",
                    "postal_code": "80331",
                    "city": "Hamburg",
                    "country": "DE",
                },
                "shipping_address": PACKSTATION,
            }
        )
        decision = evaluate(check, NEW, RiskPolicy())
        assert decision.hidden_methods == ("payment_invoicepayment", "invoice")
        assert decision.allowed_methods == ("paypal", "prepayment")

    def test_no_invoice_on_offer_hides_nothing(self) -> None:
        check = CheckInput.from_payload(
            {
                "amount": "780.00",
                "payment_methods": ["paypal"],
                "buyer": {"email": "x@mailinator.com"},
                "shipping_address": PACKSTATION,
            }
        )
        decision = evaluate(check, NEW, RiskPolicy())
        assert decision.action is Action.DECLINE
        assert decision.hidden_methods == ()

    def test_to_dict_has_the_api_shape_in_both_languages(self, risky_check, policy) -> None:
        german = evaluate(risky_check, NEW, policy).to_dict("de")
        assert german["decision"] == "decline"
        assert german["payment_methods"] == {"allowed": ["paypal"], "hidden": ["invoice"]}
        packstation = next(reason for reason in german["reasons"] if reason["code"] == "PACKSTATION_SHIPPING")
        assert packstation["weight"] == policy.weight(ReasonCode.PACKSTATION_SHIPPING)
        assert "Packstation" in packstation["message"]
        assert german["warnings"][0]["field"] == "/billing_address/postal_code"
        english = evaluate(risky_check, NEW, policy).to_dict("en")
        assert english["reasons"][0]["message"] != german["reasons"][0]["message"]


class TestReviewMode:
    @pytest.fixture
    def review_check(self, make_check) -> CheckInput:
        # Disposable e-mail (35) + first order (5) = 40: exactly the review threshold.
        return make_check(buyer={"email": "anna.schmidt@mailinator.com"})

    def test_offer_mode_keeps_invoice(self, review_check) -> None:
        decision = evaluate(review_check, NEW, RiskPolicy())
        assert decision.action is Action.REVIEW
        assert decision.rule is Rule.SCORE_REVIEW
        assert decision.score == 40
        assert decision.hidden_methods == ()

    def test_hide_mode_hides_invoice(self, review_check) -> None:
        decision = evaluate(review_check, NEW, RiskPolicy(review_mode="hide"))
        assert decision.action is Action.REVIEW
        assert decision.hidden_methods == ("invoice",)


class TestOverrides:
    def test_always_allow_wins_over_a_decline_score(self, risky_check, policy) -> None:
        decision = evaluate(risky_check, NEW, policy, override=Override.ALWAYS_ALLOW)
        assert decision.action is Action.ACCEPT
        assert decision.rule is Rule.OVERRIDE_ALWAYS_ALLOW
        assert decision.hidden_methods == ()
        assert decision.score == 100  # reasons stay visible for the audit trail

    def test_never_allow_wins_over_a_clean_score(self, make_check, policy) -> None:
        decision = evaluate(make_check(), RETURNING, policy, override="never_allow")
        assert decision.action is Action.DECLINE
        assert decision.rule is Rule.OVERRIDE_NEVER_ALLOW
        assert decision.hidden_methods == ("invoice",)

    def test_always_allow_wins_over_an_unavailable_bureau(self, make_check) -> None:
        policy = RiskPolicy(fail_mode="hide_invoice")
        decision = evaluate(
            make_check(), RETURNING, policy, override=Override.ALWAYS_ALLOW, bureau_result=DOWN
        )
        assert decision.action is Action.ACCEPT

    def test_unknown_override_is_refused(self, make_check, policy) -> None:
        with pytest.raises(ValueError):
            evaluate(make_check(), RETURNING, policy, override="sometimes")


class TestBureauInDecision:
    def test_red_light_declines(self, make_check, policy) -> None:
        decision = evaluate(make_check(), RETURNING, policy, bureau_result=RED)
        assert decision.action is Action.DECLINE
        assert ReasonCode.BUREAU_RED in decision.reason_codes
        assert decision.bureau is RED

    def test_green_light_adds_nothing(self, make_check, policy) -> None:
        decision = evaluate(make_check(), RETURNING, policy, bureau_result=GREEN)
        assert decision.action is Action.ACCEPT
        assert decision.reasons == ()

    def test_hide_invoice_fail_mode_declines_when_the_bureau_is_down(self, make_check) -> None:
        decision = evaluate(make_check(), RETURNING, RiskPolicy(fail_mode="hide_invoice"), bureau_result=DOWN)
        assert decision.action is Action.DECLINE
        assert decision.rule is Rule.BUREAU_UNAVAILABLE
        assert decision.hidden_methods == ("invoice",)

    def test_allow_up_to_keeps_invoice_for_small_amounts(self, make_check) -> None:
        policy = RiskPolicy(fail_mode="allow_up_to", bureau_fail_max_amount=Decimal("300.00"))
        decision = evaluate(make_check(amount="300.00"), RETURNING, policy, bureau_result=DOWN)
        assert decision.action is Action.ACCEPT

    def test_allow_up_to_declines_above_the_maximum(self, make_check) -> None:
        policy = RiskPolicy(fail_mode="allow_up_to", bureau_fail_max_amount=Decimal("300.00"))
        decision = evaluate(make_check(amount="300.01"), RETURNING, policy, bureau_result=DOWN)
        assert decision.action is Action.DECLINE
        assert decision.rule is Rule.BUREAU_UNAVAILABLE_OVER_LIMIT

    def test_a_decline_score_names_the_score_even_with_the_bureau_down(self, risky_check) -> None:
        decision = evaluate(risky_check, NEW, RiskPolicy(fail_mode="hide_invoice"), bureau_result=DOWN)
        assert decision.rule is Rule.SCORE_DECLINE


class TestShouldCallBureau:
    @pytest.fixture
    def bureau_policy(self) -> RiskPolicy:
        return RiskPolicy.from_dict({"bureau": {"enabled": True, "min_amount": "250.00"}})

    def test_called_for_invoice_at_the_threshold(self, make_check, bureau_policy) -> None:
        assert should_call_bureau(
            make_check(amount="250.00", selected_payment_method="invoice"), bureau_policy
        )

    def test_not_called_below_the_threshold(self, make_check, bureau_policy) -> None:
        assert not should_call_bureau(make_check(amount="249.99"), bureau_policy)

    def test_not_called_without_invoice_on_offer(self, make_check, bureau_policy) -> None:
        assert not should_call_bureau(make_check(amount="500.00", payment_methods=["paypal"]), bureau_policy)

    def test_not_called_when_disabled(self, make_check) -> None:
        assert not should_call_bureau(make_check(amount="500.00"), RiskPolicy())

    def test_not_called_when_an_override_or_the_score_already_decided(
        self, risky_check, bureau_policy
    ) -> None:
        assert not should_call_bureau(risky_check, bureau_policy, override=Override.ALWAYS_ALLOW)
        declined = evaluate(risky_check, NEW, bureau_policy)
        assert not should_call_bureau(risky_check, bureau_policy, decision=declined)

    def test_called_after_an_offline_accept(self, make_check, bureau_policy) -> None:
        check = make_check(amount="400.00", selected_payment_method="invoice")
        assert should_call_bureau(check, bureau_policy, decision=evaluate(check, RETURNING, bureau_policy))


class TestBureauHelpers:
    def test_failure_allowance_follows_the_fail_mode(self) -> None:
        assert bureau_failure_allows_invoice(Decimal("100"), RiskPolicy(fail_mode="allow_up_to"))
        assert not bureau_failure_allows_invoice(Decimal("100"), RiskPolicy(fail_mode="hide_invoice"))

    def test_bureau_person_is_the_billing_person(self, make_check) -> None:
        person = bureau_person(make_check(buyer={"date_of_birth": "1985-04-12"}))
        assert person.last_name == "Schmidt"
        assert person.street == "Berger Straße 12"
        assert (person.postal_code, person.city, person.country) == ("60316", "Frankfurt am Main", "DE")
        assert person.date_of_birth is not None and person.date_of_birth.year == 1985

    def test_bureau_result_for_turns_connector_errors_into_failures(self, make_check) -> None:
        class HangingBureau(CreditBureau):
            provider = "hanging"
            timeout_budget = 1.5

            def score(self, person: BureauPerson) -> BureauResult:
                raise ConnectorTimeoutError("read timed out", should_retry=False)

        result = bureau_result_for(HangingBureau(), make_check())
        assert not result.ok
        assert result.provider == "hanging"

    def test_invoice_methods_on_offer_keeps_the_shops_order(self, make_check, policy) -> None:
        check = make_check(payment_methods=["paypal", "payment_invoicepayment", "invoice"])
        assert invoice_methods_on_offer(check, policy) == ("payment_invoicepayment", "invoice")


class TestBureauOnlyForAChosenInvoice:
    """Data protection: a bureau is asked once the buyer chose an invoice-like method, not before."""

    def test_selected_prepayment_never_reaches_the_bureau(self) -> None:
        policy = RiskPolicy(bureau=BureauSettings(enabled=True, min_amount=Decimal("0")))
        offered = ("payment_invoicepayment", "payment_prepayment")
        check = CheckInput(amount=Decimal("300"), payment_methods=offered)
        assert not should_call_bureau(check, policy)  # no choice named yet: the methods are being shown
        assert not should_call_bureau(replace(check, selected_payment_method="payment_prepayment"), policy)
        assert should_call_bureau(replace(check, selected_payment_method="payment_invoicepayment"), policy)
