"""Payment endpoints: statement upload, the review queue, and the matching threshold."""

from __future__ import annotations

from typing import Any

from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.boundary import body_limit, takes_upload
from backend.extensions import db
from backend.merchants.services import get_merchant
from backend.payments import services
from backend.payments.blueprint import blp
from backend.payments.models import PaymentMatch
from backend.payments.schemas import (
    ImportResultSchema,
    MatchDecisionSchema,
    MatchingSettingsSchema,
    MatchListArgsSchema,
    PaymentMatchSchema,
    StatementUploadSchema,
)
from backend.receivables.models import Receivable

# Statements of a busy month run to megabytes: this endpoint alone accepts more than MAX_CONTENT_LENGTH.
STATEMENT_MAX_BYTES = 20 * 1024 * 1024


def actor_for(by: str | None) -> str:
    """Name who acted: the API client, and the person the caller says acted through it."""
    client = f"client:{current_client_id()}"
    return f"{client} ({by})" if by else client


@blp.route("/bank-statements", methods=["POST"])
@blp.arguments(StatementUploadSchema, location="files")
@blp.response(200, ImportResultSchema)
@require_oauth("orders:write")
@body_limit(STATEMENT_MAX_BYTES)
@takes_upload
def import_bank_statement(upload: dict[str, Any]) -> dict[str, int]:
    """Import a camt.053 or MT940 statement (multipart field ``file``, up to 20 MiB); idempotent."""
    statement = upload["file"]
    try:
        # Streamed from the spooled upload: camt.053 is read one entry at a time.
        result = services.import_statement(current_merchant_id(), statement.stream, actor=actor_for(None))
    finally:
        statement.close()  # a large upload is spooled to a temporary file: release it now
    db.session.commit()
    return result.to_dict()


def _match_body(matches: list[PaymentMatch], merchant_id: int) -> list[dict[str, Any]]:
    transactions = services.transactions_of(merchant_id, (m.transaction_id for m in matches))
    receivables = {
        r.id: r for r in (db.session.get(Receivable, rid) for rid in {m.receivable_id for m in matches})
    }
    return [
        {
            **{name: getattr(match, name) for name in PaymentMatchSchema().fields if hasattr(match, name)},
            "transaction": transactions[match.transaction_id],
            "receivable": receivables[match.receivable_id],
        }
        for match in matches
    ]


@blp.route("/payment-matches", methods=["GET"])
@blp.arguments(MatchListArgsSchema, location="query")
@blp.response(200, PaymentMatchSchema(many=True))
@require_oauth("handovers:read")
def list_payment_matches(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Matches of transfers to receivables; ``status=review`` is the queue a person decides."""
    merchant_id = current_merchant_id()
    return _match_body(services.list_matches(merchant_id, args["status"]), merchant_id)


@blp.route("/payment-matches/<int:match_id>/confirm", methods=["POST"])
@blp.arguments(MatchDecisionSchema)
@blp.response(200, PaymentMatchSchema)
@require_oauth("handovers:write")
def confirm_payment_match(body: dict[str, Any], match_id: int) -> dict[str, Any]:
    """Apply a proposed match: the receivable is credited, dunning stops, the shop is told."""
    merchant_id = current_merchant_id()
    match = services.confirm_match(merchant_id, match_id, actor=actor_for(body["by"]))
    db.session.commit()
    return _match_body([match], merchant_id)[0]


@blp.route("/payment-matches/<int:match_id>/reject", methods=["POST"])
@blp.arguments(MatchDecisionSchema)
@blp.response(200, PaymentMatchSchema)
@require_oauth("handovers:write")
def reject_payment_match(body: dict[str, Any], match_id: int) -> dict[str, Any]:
    """Reject a proposed match; nothing is credited."""
    merchant_id = current_merchant_id()
    match = services.reject_match(merchant_id, match_id, actor=actor_for(body["by"]))
    db.session.commit()
    return _match_body([match], merchant_id)[0]


@blp.route("/payment-matching-settings", methods=["GET"])
@blp.response(200, MatchingSettingsSchema)
@require_oauth(["handovers:read", "settings:write"])
def get_matching_settings() -> dict[str, float]:
    """The confidence from which a match is applied without review (default 0.9)."""
    return {"auto_threshold": services.matching_threshold(get_merchant(current_merchant_id()))}


@blp.route("/payment-matching-settings", methods=["PUT"])
@blp.arguments(MatchingSettingsSchema)
@blp.response(200, MatchingSettingsSchema)
@require_oauth("settings:write")
def put_matching_settings(values: dict[str, Any]) -> dict[str, float]:
    """Set the threshold (0.5 to 1.0); matches below it wait for review."""
    merchant = get_merchant(current_merchant_id())
    threshold = services.update_matching_threshold(merchant, values["auto_threshold"], actor=actor_for(None))
    db.session.commit()
    return {"auto_threshold": threshold}
