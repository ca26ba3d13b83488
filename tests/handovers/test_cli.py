"""``claimbridge handovers`` and the demo's receivables (the handover fixtures add the 2026-07-01 rate)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from backend.cli import main
from backend.extensions import db
from backend.handovers.models import Handover
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules


@pytest.fixture
def run(app: Any) -> Any:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)

    return invoke


class TestHandoversCommand:
    def test_run_proposes_then_approve_then_run_submits(self, run: Any, merchant: Any) -> None:
        set_rules(merchant)
        overdue_receivable(make_connection(merchant), "cli-1")

        first = run("handovers", "run")
        (handover,) = db.session.scalars(sa.select(Handover)).all()
        listed = json.loads(run("handovers", "list", "--status", "proposed", "--json").output)
        approved = run("handovers", "approve", str(handover.id), "--by", "Support (Ticket 4711)")
        second = run("handovers", "run")

        assert "propose: 1 proposed" in first.output
        assert [item["id"] for item in listed] == [handover.id]
        assert approved.exit_code == 0 and "approved by cli (Support (Ticket 4711))" in approved.output
        assert "submit: 1 submitted" in second.output
        assert "poll:" in second.output and "shop-updates:" in second.output
        db.session.expire_all()
        assert db.session.get(Handover, handover.id).status == "submitted"
        assert f"merchant {merchant.id}" in run("handovers", "list", "--merchant", str(merchant.id)).output

    def test_approving_an_unknown_or_decided_handover_is_a_clear_error(self, run: Any, merchant: Any) -> None:
        set_rules(merchant)
        overdue_receivable(make_connection(merchant), "cli-2")
        run("handovers", "run")
        (handover,) = db.session.scalars(sa.select(Handover)).all()
        run("handovers", "approve", str(handover.id), "--by", "a")
        run("handovers", "run")

        unknown = run("handovers", "approve", "999", "--by", "a")
        too_late = run("handovers", "approve", str(handover.id), "--by", "a")

        assert unknown.exit_code != 0 and "handover 999 not found" in unknown.output
        assert too_late.exit_code != 0 and "cannot go from submitted to approved" in too_late.output


class TestDemo:
    def test_demo_shows_a_current_a_reminded_and_a_proposed_receivable(self, run: Any) -> None:
        data = json.loads(run("demo", "--json").output)
        again = json.loads(run("demo", "--json").output)

        stages = {r["number"]: (r["notices"], r["handover"]) for r in data["receivables"]}
        assert stages == {"DEMO-1001": (0, None), "DEMO-1002": (1, None), "DEMO-1003": (3, "proposed")}
        assert again["receivables"] == data["receivables"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1
