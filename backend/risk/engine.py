"""The checkout risk decision: signals -> score -> accept / review / decline -> hidden payment methods.

Pure and offline, for the checkout hot path: the backend loads the merchant's policy, computes the
``BuyerContext`` and looks up an override from its database, then calls::

    decision = evaluate(check, context, policy, override=override)
    if should_call_bureau(check, policy, decision=decision, override=override):
        result = cached_result or bureau_result_for(bureau, check)   # backend.risk.bureau; never raises
        decision = evaluate(check, context, policy, override=override, bureau_result=result)

Decision order, first match wins (``Decision.rule`` names it):

1. a merchant override for this buyer identity (``always_allow`` / ``never_allow``) wins over any score;
2. a score at or above ``policy.decline_at`` declines;
3. an unavailable bureau declines under ``fail_mode="hide_invoice"``, and under ``"allow_up_to"`` when the
   amount exceeds ``bureau_fail_max_amount``;
4. a score at or above ``policy.review_at`` asks for review, anything lower is accepted.

``decline`` hides every invoice-like method on offer, ``accept`` none, ``review`` per ``policy.review_mode``
("offer": invoice stays and the order is flagged for a look before shipping; "hide": invoice is hidden).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backend.merchants.policy import RiskPolicy
from backend.risk.inputs import BuyerContext, CheckInput
from backend.risk.messages import advice_for, message_for
from backend.risk.signals import InputWarning, Reason, bureau_findings, run_signals
from connectors.bureaus.base import BureauResult

logger = logging.getLogger(__name__)

MAX_SCORE = 100


class Action(StrEnum):
    """What the shop should do with invoice payment."""

    ACCEPT = "accept"
    REVIEW = "review"
    DECLINE = "decline"


class Override(StrEnum):
    """A merchant's standing decision for one buyer identity (the human review path, GDPR Art. 22)."""

    ALWAYS_ALLOW = "always_allow"
    NEVER_ALLOW = "never_allow"


class Rule(StrEnum):
    """The rule that made a decision."""

    OVERRIDE_ALWAYS_ALLOW = "override_always_allow"
    OVERRIDE_NEVER_ALLOW = "override_never_allow"
    SCORE_DECLINE = "score_decline"
    BUREAU_UNAVAILABLE = "bureau_unavailable"
    BUREAU_UNAVAILABLE_OVER_LIMIT = "bureau_unavailable_over_limit"
    SCORE_REVIEW = "score_review"
    SCORE_ACCEPT = "score_accept"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one risk check, explainable by its reasons."""

    action: Action
    score: int
    rule: Rule
    reasons: tuple[Reason, ...]
    warnings: tuple[InputWarning, ...]
    allowed_methods: tuple[str, ...]
    hidden_methods: tuple[str, ...]
    bureau: BureauResult | None = None

    @property
    def reason_codes(self) -> frozenset[str]:
        """Return the codes of the reasons that fired."""
        return frozenset(reason.code for reason in self.reasons)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """Return the decision's part of the API answer, with human texts in ``lang``."""
        return {
            "decision": str(self.action),
            "score": self.score,
            "rule": str(self.rule),
            "rule_message": message_for(self.rule, lang),
            "reasons": [
                {
                    "code": str(reason.code),
                    "message": message_for(reason.code, lang, **reason.params),
                    "advice": advice_for(reason.code, lang),
                    "weight": reason.weight,
                    "params": dict(reason.params),
                }
                for reason in self.reasons
            ],
            "warnings": [
                {
                    "code": str(warning.code),
                    "field": warning.field,
                    "message": message_for(warning.code, lang, **warning.params),
                }
                for warning in self.warnings
            ],
            "payment_methods": {"allowed": list(self.allowed_methods), "hidden": list(self.hidden_methods)},
        }


def invoice_methods_on_offer(check: CheckInput, policy: RiskPolicy) -> tuple[str, ...]:
    """Return the offered payment methods that carry credit risk (the policy's invoice-like ids)."""
    return tuple(method for method in check.payment_methods if method in policy.invoice_methods)


def should_call_bureau(
    check: CheckInput,
    policy: RiskPolicy,
    *,
    decision: Decision | None = None,
    override: Override | str | None = None,
) -> bool:
    """Tell whether a paid bureau request is justified for this check.

    Only with the bureau enabled, an invoice-like method on offer and the amount at the policy's threshold;
    never when an override or the offline score already settled the outcome; and only once the buyer has
    chosen an invoice-like method (``selected_payment_method``): data protection authorities accept a bureau
    query once the buyer chose a method with credit risk, not to decide which methods to show
    (../shared/protocols/risk.md). A check that names no choice (absent or null) is one made before it.
    """
    if not policy.bureau.enabled or override is not None:
        return False
    if check.amount < policy.bureau.min_amount or not invoice_methods_on_offer(check, policy):
        return False
    if check.selected_payment_method not in policy.invoice_methods:
        return False
    return decision is None or decision.action != Action.DECLINE


def bureau_failure_allows_invoice(amount: Decimal, policy: RiskPolicy) -> bool:
    """Tell whether invoice may stay on offer while the bureau is unavailable (policy fail mode)."""
    return policy.fail_mode == "allow_up_to" and amount <= policy.bureau_fail_max_amount


def evaluate(
    check: CheckInput,
    context: BuyerContext,
    policy: RiskPolicy,
    override: Override | str | None = None,
    bureau_result: BureauResult | None = None,
) -> Decision:
    """Score one check and decide what happens to invoice payment."""
    reasons: dict[str, Reason] = {}
    warnings: list[InputWarning] = []
    for finding in run_signals(check, context, policy):
        if isinstance(finding, InputWarning):
            warnings.append(finding)
        elif finding.weight > 0:
            reasons.setdefault(finding.code, finding)
    if bureau_result is not None and bureau_result.ok:
        for finding in bureau_findings(bureau_result, policy):
            if isinstance(finding, Reason) and finding.weight > 0:
                reasons.setdefault(finding.code, finding)
    score = min(MAX_SCORE, sum(reason.weight for reason in reasons.values()))
    action, rule = _decide(score, check.amount, policy, override, bureau_result)
    hidden = _hidden_methods(action, check, policy)
    return Decision(
        action=action,
        score=score,
        rule=rule,
        reasons=tuple(sorted(reasons.values(), key=lambda reason: -reason.weight)),
        warnings=tuple(warnings),
        allowed_methods=tuple(method for method in check.payment_methods if method not in hidden),
        hidden_methods=hidden,
        bureau=bureau_result,
    )


def _decide(
    score: int,
    amount: Decimal,
    policy: RiskPolicy,
    override: Override | str | None,
    bureau_result: BureauResult | None,
) -> tuple[Action, Rule]:
    if override is not None:
        if Override(override) is Override.ALWAYS_ALLOW:
            return Action.ACCEPT, Rule.OVERRIDE_ALWAYS_ALLOW
        return Action.DECLINE, Rule.OVERRIDE_NEVER_ALLOW
    if score >= policy.decline_at:
        return Action.DECLINE, Rule.SCORE_DECLINE
    if (
        bureau_result is not None
        and not bureau_result.ok
        and not bureau_failure_allows_invoice(amount, policy)
    ):
        if policy.fail_mode == "hide_invoice":
            return Action.DECLINE, Rule.BUREAU_UNAVAILABLE
        return Action.DECLINE, Rule.BUREAU_UNAVAILABLE_OVER_LIMIT
    if score >= policy.review_at:
        return Action.REVIEW, Rule.SCORE_REVIEW
    return Action.ACCEPT, Rule.SCORE_ACCEPT


def _hidden_methods(action: Action, check: CheckInput, policy: RiskPolicy) -> tuple[str, ...]:
    if action is Action.DECLINE or (action is Action.REVIEW and policy.review_mode == "hide"):
        return invoice_methods_on_offer(check, policy)
    return ()
