"""Built-in agency endpoints for the agency's own API clients (scope ``cases:write``), per merchant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.cases import services
from backend.cases.blueprint import blp
from backend.cases.models import AgencyCase, AgencyCaseEvent
from backend.cases.schemas import CaseDetailSchema, CaseEventSchema, CaseListArgsSchema, CasePageSchema
from backend.errors import NotFoundError
from backend.extensions import db


def case_fields(case: AgencyCase) -> dict[str, Any]:
    """Return a case's columns plus its open balance."""
    data = {
        column.key: getattr(case, column.key)
        for column in AgencyCase.__table__.columns
        if column.key != "document_content"
    }
    data["balance"] = services.open_balance(case)
    return data


def case_detail(case: AgencyCase) -> dict[str, Any]:
    """Return a case with its payments and events."""
    data = case_fields(case)
    data["payments"] = services.payments_of(case)
    data["events"] = list(
        db.session.scalars(sa.select(AgencyCaseEvent).filter_by(case_id=case.id).order_by(AgencyCaseEvent.id))
    )
    return data


@blp.route("/cases", methods=["GET"])
@blp.arguments(CaseListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CasePageSchema)
@require_oauth("cases:write")
def list_cases(page: int, per_page: int) -> dict[str, Any]:
    """The cases this merchant handed to the built-in agency, newest first."""
    rows, total = services.list_cases(current_merchant_id(), page=page, per_page=per_page)
    return {"items": [case_fields(row) for row in rows], "total": total, "page": page, "per_page": per_page}


@blp.route("/cases/<int:case_id>", methods=["GET"])
@blp.response(200, CaseDetailSchema)
@require_oauth("cases:write")
def get_case(case_id: int) -> dict[str, Any]:
    """One case with everything handed over, its payments and events."""
    return case_detail(services.get_case(current_merchant_id(), case_id))


@blp.route("/cases/<int:case_id>/events", methods=["POST"])
@blp.arguments(CaseEventSchema)
@blp.response(200, CaseDetailSchema)
@require_oauth("cases:write")
def post_event(body: dict[str, Any], case_id: int) -> dict[str, Any]:
    """Record a status change, a payment collected, a refusal or a note; the merchant's shop follows."""
    case = services.get_case(current_merchant_id(), case_id, for_update=True)
    client = f"client:{current_client_id()}"
    actor = f"{client} ({body['by']})" if body.get("by") else client
    services.record_case_event(case, body, actor=actor)
    db.session.commit()
    return case_detail(case)


@blp.route("/cases/<int:case_id>/document", methods=["GET"])
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf")
@require_oauth("cases:write")
def get_document(case_id: int) -> Response:
    """The invoice (or claim statement) handed over with the case, as the file itself."""
    case = services.get_case(current_merchant_id(), case_id)
    if case.document_content is None:
        raise NotFoundError(f"case {case_id} has no document")
    return Response(
        case.document_content,
        mimetype=case.document_mime_type or "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{case.document_filename}"'},
    )
