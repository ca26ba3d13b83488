"""Console pages over WSGI: scoped to the session's merchant, posts only with the session, user recorded."""

from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.extensions import db
from backend.handovers.models import Handover
from tests.factories import make_connection


def page(client, token, path, **params):
    return client.get(path, query_string={"session_token": token, **params})


class TestHandoversPages:
    def test_another_merchants_handover_is_not_found(self, client, create_merchant, propose, console_token):
        mine, other = create_merchant("Mein Shop"), create_merchant("Anderer Shop")
        theirs = propose(make_connection(other), "their-order")
        token = console_token(mine)
        assert page(client, token, f"/console/handovers/{theirs.id}").status_code == 404
        listing = page(client, token, "/console/handovers").get_data(as_text=True)
        assert theirs.receivable.number not in listing
        answer = client.post(
            "/console/handovers/decide",
            data={"session_token": token, "decision": "approve", "ids": [str(theirs.id)]},
        )
        assert answer.status_code == 404
        assert db.session.get(Handover, theirs.id).status == "proposed"

    def test_posts_without_the_session_change_nothing(self, client, merchant, shop, propose):
        handover = propose(shop, "order-1")
        for data in ({}, {"session_token": "forged"}):
            answer = client.post(
                f"/console/handovers/{handover.id}/decide", data={"decision": "approve", **data}
            )
            assert answer.status_code == 401
        db.session.expire_all()
        assert db.session.get(Handover, handover.id).status == "proposed"

    def test_a_decision_records_the_user_in_the_audit_log(
        self, client, merchant, shop, propose, console_token
    ):
        handover = propose(shop, "order-1")
        answer = client.post(
            f"/console/handovers/{handover.id}/decide",
            data={"session_token": console_token(merchant, user="Dora Decide"), "decision": "approve"},
        )
        assert answer.status_code == 303
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "handover.approved"))
        assert event.actor == "Dora Decide (console, console link)"
        assert event.merchant_id == merchant.id

    def test_bulk_reject_needs_a_reason(self, client, merchant, shop, propose, console_token):
        handover = propose(shop, "order-1")
        data = {"session_token": console_token(merchant), "decision": "reject", "ids": [str(handover.id)]}
        answer = client.post("/console/handovers/decide", data=data)
        assert answer.status_code == 422
        assert "Give a reason for rejecting." in answer.get_data(as_text=True)
        answer = client.post("/console/handovers/decide", data={**data, "reason": "paid in cash"})
        assert answer.status_code == 303
        db.session.expire_all()
        assert db.session.get(Handover, handover.id).decision_note == "paid in cash"

    def test_a_decision_in_the_wrong_state_is_shown_not_raised(
        self, client, merchant, shop, propose, console_token
    ):
        handover = propose(shop, "order-1")
        token = console_token(merchant)
        client.post(
            f"/console/handovers/{handover.id}/decide", data={"session_token": token, "decision": "approve"}
        )
        answer = client.post(
            f"/console/handovers/{handover.id}/decide",
            data={"session_token": token, "decision": "reject", "reason": "too late"},
        )
        assert answer.status_code == 409
        assert 'role="alert"' in answer.get_data(as_text=True)

    def test_bad_filters_fall_back_to_the_whole_list(self, client, merchant, shop, propose, console_token):
        propose(shop, "order-1")
        answer = page(client, console_token(merchant), "/console/handovers", status="nonsense", page="-3")
        assert answer.status_code == 200
        assert "RE-order-1" in answer.get_data(as_text=True)
