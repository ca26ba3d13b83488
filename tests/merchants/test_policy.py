from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from backend.merchants.policy import DEFAULT_WEIGHTS, PolicyError, ReasonCode, RiskPolicy, VelocityLimits


class TestRiskPolicy:
    def test_default_suits_a_german_shop(self) -> None:
        policy = RiskPolicy()
        assert policy.invoice_methods == (
            "invoice",
            "payment_invoicepayment",
            "german_market_purchase_on_account",
            "claimbridge_invoice",
        )
        assert policy.review_at < policy.decline_at <= 100
        assert policy.review_mode == "offer"
        assert policy.bureau.enabled is False
        assert isinstance(policy.max_order_amount, Decimal)

    def test_every_reason_code_has_a_default_weight(self) -> None:
        assert set(DEFAULT_WEIGHTS) == set(ReasonCode)

    def test_round_trips_through_json(self) -> None:
        policy = RiskPolicy.from_dict(
            {
                "review_at": 30,
                "max_first_order_amount": "350.50",
                "weights": {"FIRST_ORDER": 0},
                "bureau": {"enabled": True, "min_amount": "100", "score_type": "CE", "min_score_value": 300},
                "velocity": {"ip": {"orders_24h": 9}},
            }
        )
        assert RiskPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy

    def test_missing_fields_keep_defaults(self) -> None:
        policy = RiskPolicy.from_dict({"decline_at": 80, "weights": {"EMAIL_DISPOSABLE": 50}})
        assert policy.decline_at == 80
        assert policy.review_at == RiskPolicy().review_at
        assert policy.weight(ReasonCode.EMAIL_DISPOSABLE) == 50
        assert policy.weight(ReasonCode.FIRST_ORDER) == DEFAULT_WEIGHTS[ReasonCode.FIRST_ORDER]

    def test_velocity_limits_merge_per_kind(self) -> None:
        policy = RiskPolicy.from_dict({"velocity": {"email": {"orders_24h": 1}}})
        assert policy.velocity["email"] == VelocityLimits(orders_24h=1)
        assert policy.velocity["ip"] == RiskPolicy().velocity["ip"]

    def test_amounts_are_decimal(self) -> None:
        assert RiskPolicy.from_dict({"max_order_amount": "999.99"}).max_order_amount == Decimal("999.99")

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"review_at": 101}, "/review_at"),
            ({"review_at": True}, "/review_at"),
            ({"review_at": 80, "decline_at": 70}, "/review_at"),
            ({"max_order_amount": 12.5}, "/max_order_amount"),
            ({"max_order_amount": "-1"}, "/max_order_amount"),
            ({"max_order_amount": "abc"}, "/max_order_amount"),
            ({"max_order_amount": "1.001"}, "/max_order_amount"),
            ({"max_order_amount": "1E+28"}, "/max_order_amount"),
            ({"max_open_exposure": "NaN"}, "/max_open_exposure"),
            ({"review_mode": "maybe"}, "/review_mode"),
            ({"fail_mode": "ignore"}, "/fail_mode"),
            ({"weights": {"NOT_A_CODE": 5}}, "/weights/NOT_A_CODE"),
            ({"weights": {"FIRST_ORDER": -1}}, "/weights/FIRST_ORDER"),
            ({"weights": []}, "/weights"),
            ({"invoice_methods": "invoice"}, "/invoice_methods"),
            ({"invoice_methods": ["invoice", ""]}, "/invoice_methods/1"),
            ({"currency": "euro"}, "/currency"),
            ({"bureau": {"enabled": "yes"}}, "/bureau/enabled"),
            ({"bureau": {"score_type": "ih"}}, "/bureau/score_type"),
            ({"bureau": {"address_check_type": "XX"}}, "/bureau/address_check_type"),
            ({"bureau": {"cache_days": 400}}, "/bureau/cache_days"),
            ({"bureau": {"colour": "red"}}, "/bureau/colour"),
            ({"velocity": {"cookie": {}}}, "/velocity/cookie"),
            ({"velocity": {"email": {"orders_1h": 3}}}, "/velocity/email/orders_1h"),
            ({"retention_days": 0}, "/retention_days"),
            ({"unknown": 1}, "/unknown"),
        ],
    )
    def test_rejects_invalid_fields_naming_them(self, data: dict[str, Any], field: str) -> None:
        with pytest.raises(PolicyError) as error:
            RiskPolicy.from_dict(data)
        assert error.value.field == field
        assert isinstance(error.value, ValueError)

    def test_rejects_a_non_object(self) -> None:
        with pytest.raises(PolicyError):
            RiskPolicy.from_dict([])  # type: ignore[arg-type]
