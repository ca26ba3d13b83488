"""Dunning schedules: which notice is due when, and when a claim may go to a collection agency. Pure.

A merchant keeps one schedule for consumers and one for businesses. A schedule is an ordered list of stages,
at most one of each kind, in the order reminder (Zahlungserinnerung) → dunning (1st Mahnung) → final_notice
(letzte Mahnung announcing collection); the final notice is required and comes last.

Legal constraints enforced on every schedule:

- The first stage is legally the first Mahnung, whatever it is called: a Zahlungserinnerung sent after the
  due date that asks for payment puts the debtor in default (§286(1) BGB). The notice that creates default
  cannot carry a fee, so the first stage's fee must be 0. ``claims.claim_breakdown`` applies the same rule to
  the dates notices were actually sent, so a fee is never claimed where it is not owed.
- The first stage is at least ``MIN_FIRST_OFFSET_DAYS`` (3) days after the due date, so it falls after the
  payment deadline even when the due date is a Saturday and §193 BGB moves it to Monday; a notice before
  that would not be a Mahnung at all.
- Fees by channel (``fee_limit``): only the actual cost of a letter is recoverable (§§280(2), 286 BGB; no
  staff or overhead costs). An e-mail, or a reminder the shop sends, costs nothing: its fee must be 0. A
  letter's fee is at most the merchant's stated cost of one letter (``letter_cost``, default €1.00, the
  amount courts accept without proof), and never more than ``claims.MAX_DUNNING_FEE`` (€2.50, accepted only
  with proof of cost). ``none`` (the merchant's own system dunns) charges nothing through ClaimBridge. For a
  business the fees are covered by the €40 flat fee first (§288(5) sentence 3).
- ``grace_banking_days`` (1-3): the first notice waits until that many banking days after the (§193-shifted)
  due date have passed, so a transfer made on the due date has arrived and been reconciled.
- A stage's payment deadline ends before the next stage is due when notices go out on time.
- Every day count (``offset_days``, ``payment_deadline_days``, ``handover_after_days``) is at most
  ``MAX_DAYS`` (3650, ten years, the longest a claim lives under §199(4) BGB), so it fits the INTEGER columns
  the schedule is stored in and the dates the worker computes from it.

The rule for the next stage (mirrored in SQL by the worker; keep both in step):

1. Rank the kinds reminder = 0, dunning = 1, final_notice = 2. Let ``last`` be the sent notice of the
   highest rank for the receivable (none if nothing was sent). Notices of kinds not in the schedule count.
2. The candidate is the first stage of the schedule whose kind ranks above ``last``'s kind (the first stage
   when nothing was sent). No candidate (the final notice was sent) → nothing is due.
3. The candidate is due from ``due_date + offset_days``, but never before ``last.deadline_on + 1``: a late
   notice keeps its full deadline before the next one follows.
4. ``next_stage`` returns the candidate when ``today`` is on or after that day, else None.

The caller filters out receivables that are paid, disputed, cancelled or under a dunning stop, stores each
notice with ``sent_on`` and the ``deadline_on`` it stated (``payment_deadline``), and sends only stages whose
channel is ``email``; for ``shop`` it triggers the shop's reminder, for ``none`` the merchant's own system
dunns and records the dates.

Handover (``handover_ready_on``): the final notice's stated deadline plus ``handover_after_days`` (default
3, so a transfer made on the last day has arrived and been reconciled).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.dunning.claims import FEE_CHANNELS, MAX_DUNNING_FEE, Channel, DebtorKind, NoticeKind
from backend.dunning.law import add_working_days, next_working_day

MIN_FIRST_OFFSET_DAYS = 3
MAX_DAYS = 3650
DEFAULT_HANDOVER_AFTER_DAYS = 3
DEFAULT_GRACE_BANKING_DAYS = 2
GRACE_BANKING_DAYS = (1, 3)
DEFAULT_LETTER_COST = Decimal("1.00")
KIND_RANK = {NoticeKind.REMINDER: 0, NoticeKind.DUNNING: 1, NoticeKind.FINAL_NOTICE: 2}


class ScheduleError(ValueError):
    """A schedule field is invalid; ``field`` is its path, e.g. ``stages[1].fee``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def within(self, prefix: str) -> ScheduleError:
        """Return the same error with ``field`` nested under ``prefix``."""
        return ScheduleError(f"{prefix}.{self.field}", self.reason)


def _require_days(name: str, value: object, minimum: int, maximum: int = MAX_DAYS) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScheduleError(name, f"must be a whole number of days, not {value!r}")
    if value < minimum:
        raise ScheduleError(name, f"must be at least {minimum}, not {value}")
    if value > maximum:
        raise ScheduleError(name, f"must be at most {maximum}, not {value}")


def _parse_fee(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ScheduleError("fee", f"must be a decimal string such as '2.50', not {value!r}")
    try:
        fee = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ScheduleError("fee", f"{value!r} is not a decimal number") from None
    return fee


def _parse_enum(enum_type: type[enum.StrEnum], name: str, value: object) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ScheduleError(name, f"{value!r} is not one of {allowed}") from None


@dataclass(frozen=True)
class Stage:
    """One notice of a schedule: when after the due date, its fee, its payment deadline, who sends it."""

    kind: NoticeKind
    offset_days: int
    fee: Decimal
    payment_deadline_days: int
    channel: Channel = Channel.EMAIL

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _parse_enum(NoticeKind, "kind", self.kind))
        object.__setattr__(self, "channel", _parse_enum(Channel, "channel", self.channel))
        _require_days("offset_days", self.offset_days, 1)
        _require_days("payment_deadline_days", self.payment_deadline_days, 1)
        fee = _parse_fee(self.fee)
        if not fee.is_finite() or fee.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ScheduleError("fee", f"{self.fee!r} is not an amount in cents")
        if fee < 0:
            raise ScheduleError("fee", f"must not be negative, not {fee}")
        object.__setattr__(self, "fee", fee)

    def to_dict(self) -> dict[str, Any]:
        """Return the stage as JSON-ready data (fee as a string)."""
        return {
            "kind": self.kind.value,
            "offset_days": self.offset_days,
            "fee": f"{self.fee:.2f}",
            "payment_deadline_days": self.payment_deadline_days,
            "channel": self.channel.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stage:
        """Build a stage from ``to_dict`` data; raise ``ScheduleError`` naming the bad field."""
        _require_keys(data, {"kind", "offset_days", "fee", "payment_deadline_days", "channel"})
        return cls(**data)


def fee_limit(channel: Channel, letter_cost: Decimal = DEFAULT_LETTER_COST) -> Decimal:
    """Return the highest fee a later notice sent through ``channel`` may state (module docstring)."""
    if channel not in FEE_CHANNELS:
        return Decimal("0.00")
    return min(letter_cost, MAX_DUNNING_FEE)


def fee_rule(channel: Channel, debtor_kind: DebtorKind, letter_cost: Decimal = DEFAULT_LETTER_COST) -> str:
    """Return the sentence that explains ``fee_limit`` to a merchant (shown by the console and in 422s)."""
    limit = fee_limit(channel, letter_cost)
    if channel is Channel.LETTER:
        text = (
            f"A letter may charge its actual cost (paper, print, postage), at most {limit} as you stated it; "
            f"courts accept about 1.00 without proof and up to {MAX_DUNNING_FEE} only with proof of cost. "
            "Staff time and overheads are not recoverable, and the notice that first puts the debtor in "
            "default carries no fee."
        )
    elif channel is Channel.NONE:
        text = "Your own system sends this notice: ClaimBridge charges no fee for it."
    else:
        text = "An e-mail costs the debtor nothing to receive and you nothing to send: no fee may be charged."
    if debtor_kind is DebtorKind.BUSINESS and limit > 0:
        text += " For a business the fees are covered by the 40.00 flat fee first (§288(5) BGB)."
    return text


@dataclass(frozen=True)
class SentNotice:
    """A notice that went out: its kind, the day it was sent and the payment deadline it stated."""

    kind: NoticeKind
    sent_on: date
    deadline_on: date


@dataclass(frozen=True)
class DunningSchedule:
    """The stages a merchant uses for one kind of debtor, and when a claim may be handed over."""

    debtor_kind: DebtorKind
    stages: Sequence[Stage]
    handover_after_days: int = DEFAULT_HANDOVER_AFTER_DAYS
    grace_banking_days: int = DEFAULT_GRACE_BANKING_DAYS
    letter_cost: Decimal = DEFAULT_LETTER_COST

    def __post_init__(self) -> None:
        object.__setattr__(self, "debtor_kind", _parse_enum(DebtorKind, "debtor_kind", self.debtor_kind))
        object.__setattr__(self, "stages", tuple(self.stages))
        _require_days("handover_after_days", self.handover_after_days, 1)
        _require_days("grace_banking_days", self.grace_banking_days, *GRACE_BANKING_DAYS)
        letter_cost = _parse_fee(self.letter_cost)
        if not letter_cost.is_finite() or letter_cost.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ScheduleError("letter_cost", f"{self.letter_cost!r} is not an amount in cents")
        if not 0 <= letter_cost <= MAX_DUNNING_FEE:
            raise ScheduleError(
                "letter_cost",
                f"must be between 0.00 and {MAX_DUNNING_FEE}: more than that is not the cost of one letter",
            )
        object.__setattr__(self, "letter_cost", letter_cost)
        if not self.stages or self.stages[-1].kind is not NoticeKind.FINAL_NOTICE:
            raise ScheduleError("stages", "must end with a final_notice announcing the handover")
        for index, stage in enumerate(self.stages):
            self._check_stage(index, stage)

    def _check_stage(self, index: int, stage: Stage) -> None:
        where = f"stages[{index}]"
        if index == 0:
            if stage.offset_days < MIN_FIRST_OFFSET_DAYS:
                raise ScheduleError(
                    f"{where}.offset_days",
                    f"the first notice must be at least {MIN_FIRST_OFFSET_DAYS} days after the due date",
                )
            if stage.fee != 0:
                raise ScheduleError(f"{where}.fee", "the first notice puts the debtor in default: no fee")
            return
        limit = fee_limit(stage.channel, self.letter_cost)
        if stage.fee > limit:
            raise ScheduleError(
                f"{where}.fee",
                f"must be at most {limit} for a notice by {stage.channel.value} to a {self.debtor_kind.value}: "
                + fee_rule(stage.channel, self.debtor_kind, self.letter_cost),
            )
        previous = self.stages[index - 1]
        if KIND_RANK[stage.kind] <= KIND_RANK[previous.kind]:
            raise ScheduleError(
                f"{where}.kind", "order is reminder, dunning, final_notice, each at most once"
            )
        if stage.offset_days <= previous.offset_days:
            raise ScheduleError(f"{where}.offset_days", "must be later than the previous stage")
        gap = stage.offset_days - previous.offset_days
        if previous.payment_deadline_days >= gap:
            raise ScheduleError(
                f"stages[{index - 1}].payment_deadline_days",
                f"must end before the next stage, i.e. be less than {gap} days",
            )

    def stage(self, kind: NoticeKind) -> Stage | None:
        """Return the stage of ``kind``, if the schedule has one."""
        return next((stage for stage in self.stages if stage.kind is kind), None)

    def to_dict(self) -> dict[str, Any]:
        """Return the schedule as JSON-ready data."""
        return {
            "debtor_kind": self.debtor_kind.value,
            "handover_after_days": self.handover_after_days,
            "grace_banking_days": self.grace_banking_days,
            "letter_cost": f"{self.letter_cost:.2f}",
            "stages": [stage.to_dict() for stage in self.stages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DunningSchedule:
        """Build a schedule from ``to_dict`` data; raise ``ScheduleError`` naming the bad field."""
        _require_keys(
            data,
            {"debtor_kind", "stages"},
            optional={"handover_after_days", "grace_banking_days", "letter_cost"},
        )
        raw_stages = data["stages"]
        if not isinstance(raw_stages, list):
            raise ScheduleError("stages", "must be a list of stages")
        stages = []
        for index, raw in enumerate(raw_stages):
            if not isinstance(raw, Mapping):
                raise ScheduleError(f"stages[{index}]", "must be an object")
            try:
                stages.append(Stage.from_dict(raw))
            except ScheduleError as exc:
                raise exc.within(f"stages[{index}]") from None
        return cls(
            debtor_kind=data["debtor_kind"],
            stages=stages,
            handover_after_days=data.get("handover_after_days", DEFAULT_HANDOVER_AFTER_DAYS),
            grace_banking_days=data.get("grace_banking_days", DEFAULT_GRACE_BANKING_DAYS),
            letter_cost=data.get("letter_cost", DEFAULT_LETTER_COST),
        )


def _require_keys(data: Mapping[str, Any], required: set[str], optional: Iterable[str] = ()) -> None:
    missing = sorted(required - data.keys())
    if missing:
        raise ScheduleError(missing[0], "is required")
    unknown = sorted(data.keys() - required - set(optional))
    if unknown:
        raise ScheduleError(str(unknown[0]), "is not a schedule field")


def default_schedule(debtor_kind: DebtorKind) -> DunningSchedule:
    """Return the schedule merchants start with: reminder +7, Mahnung +14, final notice +28, by e-mail, no fees."""
    return DunningSchedule(
        debtor_kind=debtor_kind,
        stages=(
            Stage(NoticeKind.REMINDER, offset_days=7, fee=Decimal("0.00"), payment_deadline_days=5),
            Stage(NoticeKind.DUNNING, offset_days=14, fee=Decimal("0.00"), payment_deadline_days=10),
            Stage(NoticeKind.FINAL_NOTICE, offset_days=28, fee=Decimal("0.00"), payment_deadline_days=14),
        ),
    )


def payment_deadline(stage: Stage, sent_on: date, land: str | None = None) -> date:
    """Return the payment deadline a notice of ``stage`` sent on ``sent_on`` states (§193 BGB applied)."""
    return next_working_day(sent_on + timedelta(days=stage.payment_deadline_days), land)


def first_notice_floor(due_date: date, grace_banking_days: int) -> date:
    """Return the first day a first notice may go: after the grace's banking days past the due date."""
    return add_working_days(next_working_day(due_date), grace_banking_days) + timedelta(days=1)


def latest_due_date_past_grace(today: date, grace_banking_days: int) -> date:
    """Return the latest due date whose grace has passed by ``today`` (``first_notice_floor`` <= today)."""
    day = today - timedelta(days=1)
    # first_notice_floor only grows with the due date, so walking back finds the boundary.
    while first_notice_floor(day, grace_banking_days) > today:
        day -= timedelta(days=1)
    return day


def _last_sent(notices_sent: Iterable[SentNotice]) -> SentNotice | None:
    return max(notices_sent, key=lambda notice: (KIND_RANK[notice.kind], notice.sent_on), default=None)


def next_stage_due_on(
    schedule: DunningSchedule, notices_sent: Iterable[SentNotice], due_date: date
) -> tuple[Stage, date] | None:
    """Return the next stage and the first day it is due, or None when the final notice was sent."""
    last = _last_sent(notices_sent)
    floor = -1 if last is None else KIND_RANK[last.kind]
    stage = next((stage for stage in schedule.stages if KIND_RANK[stage.kind] > floor), None)
    if stage is None:
        return None
    due_on = due_date + timedelta(days=stage.offset_days)
    if last is None:
        due_on = max(due_on, first_notice_floor(due_date, schedule.grace_banking_days))
    else:
        due_on = max(due_on, last.deadline_on + timedelta(days=1))
    return stage, due_on


def next_stage(
    schedule: DunningSchedule, notices_sent: Iterable[SentNotice], due_date: date, today: date
) -> Stage | None:
    """Return the stage due on ``today`` for a receivable due on ``due_date`` (rule: module docstring)."""
    upcoming = next_stage_due_on(schedule, notices_sent, due_date)
    if upcoming is None or today < upcoming[1]:
        return None
    return upcoming[0]


def handover_ready_on(schedule: DunningSchedule, notices_sent: Iterable[SentNotice]) -> date | None:
    """Return the first day the claim may be proposed for handover, or None before the final notice."""
    final = next((notice for notice in notices_sent if notice.kind is NoticeKind.FINAL_NOTICE), None)
    if final is None:
        return None
    return final.deadline_on + timedelta(days=schedule.handover_after_days)
