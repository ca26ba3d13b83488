"""Data-subject requests for the merchant's own API clients (scope ``privacy:write``).

Both are POSTs: the buyer's e-mail travels in the body, never in a URL that proxies and logs keep.
"""

from __future__ import annotations

from typing import Any

from backend.audit.services import record_event
from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.extensions import db
from backend.privacy import services
from backend.privacy.blueprint import blp
from backend.privacy.schemas import (
    BuyerExportSchema,
    DataSubjectSchema,
    ErasureReportSchema,
    ErasureRequestSchema,
)


@blp.route("/buyer-export", methods=["POST"])
@blp.arguments(DataSubjectSchema)
@blp.response(200, BuyerExportSchema)
@require_oauth("privacy:write")
def export_buyer(body: dict[str, Any]) -> dict[str, Any]:
    """Everything held on the buyer with this e-mail address, for an access request (Art. 15 GDPR)."""
    merchant_id = current_merchant_id()
    export = services.export_buyer(merchant_id, body["email"])
    record_event(
        "privacy.buyer_exported",
        actor=f"client:{current_client_id()}",
        merchant_id=merchant_id,
        target_type="buyer",
        details={"receivables": len(export["receivables"]), "risk_checks": len(export["risk_checks"])},
    )
    db.session.commit()
    return export


@blp.route("/buyer-erasure", methods=["POST"])
@blp.arguments(ErasureRequestSchema)
@blp.response(200, ErasureReportSchema)
@require_oauth("privacy:write")
def erase_buyer(body: dict[str, Any]) -> dict[str, Any]:
    """Erase the buyer's data, keeping open claims and accounting records; say what was kept and why."""
    actor = f"client:{current_client_id()} ({body['by']})"
    report = services.erase_buyer(current_merchant_id(), body["email"], actor=actor)
    db.session.commit()
    return report
