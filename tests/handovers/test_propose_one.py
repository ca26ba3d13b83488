"""Proposing one receivable at the merchant's request (the WooCommerce order action)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.handovers.models import Handover
from tests.factories import make_connection, overdue_receivable
from tests.handovers.conftest import set_rules

WRITE = "handovers:read handovers:write"


def propose(client: Any, headers: dict[str, str], receivable_id: int) -> Any:
    return client.post(
        f"/api/v1/receivables/{receivable_id}/handover-proposal", json={"by": "Lea Wagner"}, headers=headers
    )


class TestProposeOne:
    def test_ready_receivable_becomes_a_proposal_recorded_for_the_user(
        self, app, client, merchant, auth_headers
    ):
        set_rules(merchant)
        receivable = overdue_receivable(make_connection(merchant), "o-1")
        response = propose(client, auth_headers(merchant, WRITE), receivable.id)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert (body["receivable_id"], body["status"]) == (receivable.id, "proposed")
        actors = db.session.scalars(sa.select(AuditEvent.actor).filter_by(action="handover.proposed")).all()
        assert len(actors) == 1 and actors[0].endswith("(Lea Wagner)")

    def test_twice_or_not_ready_answers_409_with_what_is_missing(self, app, client, merchant, auth_headers):
        set_rules(merchant)
        connection = make_connection(merchant)
        headers = auth_headers(merchant, WRITE)
        ready = overdue_receivable(connection, "o-1")
        assert propose(client, headers, ready.id).status_code == 201
        again = propose(client, headers, ready.id)
        assert again.status_code == 409
        assert any("a handover exists already" in b for b in again.get_json()["details"]["blockers"])

        early = overdue_receivable(connection, "o-2", notices=(("reminder", 7, 5, "0.00"),))
        response = propose(client, headers, early.id)
        assert response.status_code == 409
        assert response.get_json()["error"] == "handover_not_ready"
        assert "the final notice has not been sent" in response.get_json()["details"]["blockers"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1

    def test_needs_write_scope_and_own_receivable(self, app, client, merchant, create_merchant, auth_headers):
        set_rules(merchant)
        receivable = overdue_receivable(make_connection(merchant), "o-1")
        assert propose(client, auth_headers(merchant, "handovers:read"), receivable.id).status_code == 403
        other = create_merchant("Andere GmbH")
        assert propose(client, auth_headers(other, WRITE), receivable.id).status_code == 404
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0
