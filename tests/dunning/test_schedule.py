"""Tests for dunning schedules, the next-stage rule and the handover date."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.dunning.claims import DebtorKind, NoticeKind
from backend.dunning.schedule import (
    Channel,
    DunningSchedule,
    ScheduleError,
    SentNotice,
    Stage,
    default_schedule,
    handover_ready_on,
    latest_due_date_past_grace,
    next_stage,
    next_stage_due_on,
    payment_deadline,
)

DUE = date(2024, 6, 5)  # a Wednesday
SCHEDULE = default_schedule(DebtorKind.CONSUMER)


def sent(kind: NoticeKind, sent_on: date) -> SentNotice:
    stage = SCHEDULE.stage(kind)
    assert stage is not None
    return SentNotice(kind, sent_on, payment_deadline(stage, sent_on))


def valid_dict() -> dict[str, Any]:
    return copy.deepcopy(SCHEDULE.to_dict())


class TestDefaultSchedule:
    def test_has_reminder_mahnung_and_final_notice_on_the_usual_days(self) -> None:
        assert [(s.kind, s.offset_days, s.fee, s.channel) for s in SCHEDULE.stages] == [
            (NoticeKind.REMINDER, 7, Decimal("0.00"), Channel.EMAIL),
            (NoticeKind.DUNNING, 14, Decimal("0.00"), Channel.EMAIL),
            (NoticeKind.FINAL_NOTICE, 28, Decimal("0.00"), Channel.EMAIL),
        ]

    def test_exists_separately_for_businesses(self) -> None:
        assert default_schedule(DebtorKind.BUSINESS).debtor_kind is DebtorKind.BUSINESS


class TestNextStage:
    def test_walks_through_the_stages_on_the_right_days(self) -> None:
        # Reminder due 12 June (+7), sent then with a 5-day deadline (17 June); Mahnung due 19 June (+14),
        # deadline 29 June, a Saturday, so Monday 1 July; final notice due 3 July (+28).
        assert next_stage(SCHEDULE, [], DUE, date(2024, 6, 11)) is None
        assert next_stage(SCHEDULE, [], DUE, date(2024, 6, 12)).kind is NoticeKind.REMINDER  # type: ignore[union-attr]
        notices = [sent(NoticeKind.REMINDER, date(2024, 6, 12))]
        assert notices[0].deadline_on == date(2024, 6, 17)
        assert next_stage(SCHEDULE, notices, DUE, date(2024, 6, 18)) is None
        assert next_stage(SCHEDULE, notices, DUE, date(2024, 6, 19)).kind is NoticeKind.DUNNING  # type: ignore[union-attr]
        notices.append(sent(NoticeKind.DUNNING, date(2024, 6, 19)))
        assert notices[1].deadline_on == date(2024, 7, 1)
        assert next_stage(SCHEDULE, notices, DUE, date(2024, 7, 2)) is None
        final = next_stage(SCHEDULE, notices, DUE, date(2024, 7, 3))
        assert final is not None and final.kind is NoticeKind.FINAL_NOTICE
        notices.append(sent(NoticeKind.FINAL_NOTICE, date(2024, 7, 3)))
        assert next_stage(SCHEDULE, notices, DUE, date(2024, 12, 31)) is None

    def test_a_late_notice_keeps_its_full_deadline_before_the_next(self) -> None:
        # The reminder went out only on 25 June (worker down, or imported late): deadline 30 June, a
        # Sunday, so 1 July; the Mahnung follows on 2 July, not at +14 (19 June).
        notices = [sent(NoticeKind.REMINDER, date(2024, 6, 25))]
        assert next_stage_due_on(SCHEDULE, notices, DUE) == (SCHEDULE.stages[1], date(2024, 7, 2))

    def test_an_overdue_receivable_starts_at_the_first_stage(self) -> None:
        stage = next_stage(SCHEDULE, [], DUE, DUE + timedelta(days=90))
        assert stage is not None and stage.kind is NoticeKind.REMINDER

    def test_never_goes_back_to_an_earlier_stage(self) -> None:
        notices = [sent(NoticeKind.DUNNING, date(2024, 6, 19))]
        stage = next_stage(SCHEDULE, notices, DUE, date(2024, 7, 10))
        assert stage is not None and stage.kind is NoticeKind.FINAL_NOTICE

    def test_skips_kinds_the_schedule_does_not_have(self) -> None:
        short = DunningSchedule(
            DebtorKind.BUSINESS,
            [
                Stage(NoticeKind.DUNNING, 10, Decimal("0"), 7),
                Stage(NoticeKind.FINAL_NOTICE, 20, Decimal("1.00"), 10, Channel.LETTER),
            ],
        )
        first = next_stage(short, [], DUE, DUE + timedelta(days=10))
        assert first is not None and first.kind is NoticeKind.DUNNING


class TestHandover:
    def test_is_ready_days_after_the_final_notices_deadline(self) -> None:
        # Final notice sent 3 July with a 14-day deadline: 17 July; handover from 20 July (+3).
        notices = [
            sent(NoticeKind.REMINDER, date(2024, 6, 12)),
            sent(NoticeKind.FINAL_NOTICE, date(2024, 7, 3)),
        ]
        assert handover_ready_on(SCHEDULE, notices) == date(2024, 7, 20)

    def test_is_not_ready_before_a_final_notice(self) -> None:
        assert handover_ready_on(SCHEDULE, [sent(NoticeKind.DUNNING, date(2024, 6, 19))]) is None


class TestValidation:
    def test_round_trips_through_a_dict(self) -> None:
        assert DunningSchedule.from_dict(SCHEDULE.to_dict()) == SCHEDULE

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda d: d["stages"][1].update(fee="2.51"), "stages[1].fee"),
            (lambda d: d["stages"][1].update(fee=2.5), "stages[1].fee"),
            (lambda d: d["stages"][1].update(fee="-1"), "stages[1].fee"),
            (lambda d: d["stages"][1].update(fee="0.001"), "stages[1].fee"),
            (lambda d: d["stages"][0].update(fee="1.00"), "stages[0].fee"),
            (lambda d: d["stages"][0].update(offset_days=2), "stages[0].offset_days"),
            (lambda d: d["stages"][1].update(offset_days=7), "stages[1].offset_days"),
            (lambda d: d["stages"][1].update(offset_days="14"), "stages[1].offset_days"),
            (lambda d: d["stages"][0].update(payment_deadline_days=7), "stages[0].payment_deadline_days"),
            (lambda d: d["stages"][2].update(payment_deadline_days=0), "stages[2].payment_deadline_days"),
            (lambda d: d["stages"][2].update(channel="fax"), "stages[2].channel"),
            (lambda d: d["stages"][1].update(kind="reminder"), "stages[1].kind"),
            (lambda d: d["stages"][1].pop("channel"), "stages[1].channel"),
            (lambda d: d["stages"][1].update(colour="red"), "stages[1].colour"),
            (lambda d: d["stages"].pop(), "stages"),
            (lambda d: d["stages"].append("x"), "stages[3]"),
            (lambda d: d.update(debtor_kind="robot"), "debtor_kind"),
            (lambda d: d.update(handover_after_days=0), "handover_after_days"),
        ],
    )
    def test_from_dict_names_the_bad_field(self, change: Any, field: str) -> None:
        data = valid_dict()
        change(data)
        with pytest.raises(ScheduleError) as excinfo:
            DunningSchedule.from_dict(data)
        assert excinfo.value.field == field
        assert str(excinfo.value).startswith(f"{field}: ")
        assert isinstance(excinfo.value, ValueError)


class TestFeesByChannel:
    def schedule(self, channel: str, fee: str, **extra: Any) -> DunningSchedule:
        data = valid_dict()
        data["stages"][1].update(channel=channel, fee=fee)
        data.update(extra)
        return DunningSchedule.from_dict(data)

    @pytest.mark.parametrize("channel", ["email", "shop", "none"])
    def test_an_email_or_shop_notice_carries_no_fee(self, channel: str) -> None:
        assert self.schedule(channel, "0.00").stages[1].fee == 0
        with pytest.raises(ScheduleError) as excinfo:
            self.schedule(channel, "0.01")
        assert excinfo.value.field == "stages[1].fee"
        assert "must be at most 0.00" in excinfo.value.reason

    def test_a_letter_may_charge_its_stated_cost(self) -> None:
        assert self.schedule("letter", "1.00").stages[1].fee == Decimal("1.00")  # default cost of a letter
        with pytest.raises(ScheduleError) as excinfo:
            self.schedule("letter", "1.01")
        assert "actual cost" in excinfo.value.reason and "consumer" in excinfo.value.reason
        assert self.schedule("letter", "2.50", letter_cost="2.50").stages[1].fee == Decimal("2.50")
        with pytest.raises(ScheduleError):
            self.schedule("letter", "2.51", letter_cost="2.50")

    def test_a_letter_cost_above_the_ceiling_is_refused(self) -> None:
        with pytest.raises(ScheduleError) as excinfo:
            self.schedule("letter", "1.00", letter_cost="3.00")
        assert excinfo.value.field == "letter_cost"

    def test_the_business_hint_names_the_flat_fee(self) -> None:
        data = valid_dict()
        data.update(debtor_kind="business")
        data["stages"][1].update(channel="letter", fee="5.00")
        with pytest.raises(ScheduleError) as excinfo:
            DunningSchedule.from_dict(data)
        assert "flat fee" in excinfo.value.reason


class TestGracePeriod:
    def test_the_first_notice_waits_for_transfers_in_flight(self) -> None:
        # Due Thu 2 April 2026; offset 3 would allow 5 April. Grace 2 banking days: Good Friday, the
        # weekend and Easter Monday are no banking days -> Tue 7 and Wed 8 April; first notice on 9 April.
        first, *rest = SCHEDULE.stages
        schedule = DunningSchedule(
            DebtorKind.CONSUMER, [replace_offset(first, 3), *rest], grace_banking_days=2
        )
        due = date(2026, 4, 2)
        assert next_stage_due_on(schedule, [], due) == (schedule.stages[0], date(2026, 4, 9))
        assert latest_due_date_past_grace(date(2026, 4, 9), 2) == due
        assert latest_due_date_past_grace(date(2026, 4, 8), 2) == date(2026, 4, 1)

    @pytest.mark.parametrize("days", [0, 4])
    def test_is_one_to_three_banking_days(self, days: int) -> None:
        with pytest.raises(ScheduleError) as excinfo:
            DunningSchedule.from_dict({**valid_dict(), "grace_banking_days": days})
        assert excinfo.value.field == "grace_banking_days"


def replace_offset(stage: Stage, offset_days: int) -> Stage:
    return Stage(stage.kind, offset_days, stage.fee, stage.payment_deadline_days, stage.channel)
