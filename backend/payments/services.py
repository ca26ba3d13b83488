"""Bank statements settle receivables: import, match, review, apply, and tell the shop.

Import (``import_statement``) parses camt.053 or MT940, keeps incoming payments only and inserts them with
ON CONFLICT DO NOTHING on (merchant, transaction id), so a re-import (or a concurrent one) adds nothing and
matches nothing again. The merchant row is locked for the run, so two imports of one merchant never match
against the same open amounts. New transfers are matched with ``PaymentMatcher`` against the merchant's
receivables that still have a balance; proposals at or above the merchant's threshold are applied at once,
the others wait for review (``confirm_match`` / ``reject_match``).

Applying a match, in the caller's transaction: the ledger (``backend.receivables.ledger.record_payment``,
idempotent by the match) raises the receivable's paid amount and its state follows
(open/partially_paid become partially_paid or paid; in_collection stays, so the handover mirror reports a
direct payment to the agency; disputed becomes paid only once nothing is left); its ``payment`` event carries
amount, booking date and source ``bank_statement`` (the claim dates the payment by it); a pending (proposed or
approved) handover is withdrawn once nothing is owed; the buyer's IBAN is learned from a confirmed or
reference/number match; the shop's order gets the payment state and a note through the shop outbox
(``ShopUpdate`` rows keyed by the match, sent by ``backend.handovers.shop_updates.process_shop_updates``).
Dunning needs nothing: the due selection and the send step's re-check read state and balance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from backend.audit.services import record_event
from backend.errors import ConflictError, NotFoundError, UserValueError
from backend.extensions import db, utcnow
from backend.handovers.decisions import decide_handover
from backend.handovers.models import Handover, HandoverStatus, ShopUpdateKind
from backend.handovers.shop_updates import queue_shop_update
from backend.merchants.models import Merchant, ShopConnection
from backend.payments.matching import MatchProposal, MatchRule, MatchSettings, OpenReceivable, PaymentMatcher
from backend.payments.models import (
    BankTransactionRecord,
    KnownPayerIban,
    MatchStatus,
    PaymentMatch,
    TransactionStatus,
)
from backend.payments.receivable_references import assign_payment_reference
from backend.payments.statements import BankTransaction, StatementError, parse_statement
from backend.receivables import ledger
from backend.receivables.ledger import MoneySource
from backend.receivables.models import Receivable
from backend.receivables.states import State

ACTOR = "payment-matching"
DEFAULT_THRESHOLD = 0.9
MATCHABLE_STATES = (State.OPEN, State.PARTIALLY_PAID, State.IN_COLLECTION, State.DISPUTED)
SHOP_PLATFORMS = ("shopware", "woocommerce")
EXPLICIT_RULES = frozenset({MatchRule.REFERENCE, MatchRule.INVOICE_NUMBER, MatchRule.ORDER_NUMBER})
PENDING_HANDOVER = (HandoverStatus.PROPOSED.value, HandoverStatus.APPROVED.value)
INSERT_BATCH = 1000


def _insert(target: Any) -> Any:
    """Return the dialect's INSERT (both SQLite and PostgreSQL know ON CONFLICT)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


# -- settings ------------------------------------------------------------------------------------------------


def matching_threshold(merchant: Merchant) -> float:
    """Return the confidence from which a match is applied without review (default 0.9)."""
    return float(
        (merchant.settings or {}).get("payment_matching", {}).get("auto_threshold", DEFAULT_THRESHOLD)
    )


def update_matching_threshold(merchant: Merchant, threshold: float, *, actor: str) -> float:
    """Set the merchant's threshold for automatic matches."""
    previous = matching_threshold(merchant)
    settings = dict(merchant.settings or {})
    settings["payment_matching"] = {**settings.get("payment_matching", {}), "auto_threshold": threshold}
    merchant.settings = settings  # a new dict: JSON columns do not track in-place changes
    record_event(
        "payment_matching.settings_updated",
        actor=actor,
        merchant_id=merchant.id,
        target_type="merchant",
        target_id=merchant.id,
        details={"auto_threshold": [previous, threshold]},
    )
    return threshold


# -- import --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What one statement import did, counted in transfers."""

    new: int
    already_known: int
    applied: int
    review: int
    unmatched: int
    not_incoming: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _record_row(merchant_id: int, transaction: BankTransaction, actor: str) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "transaction_id": transaction.transaction_id,
        "account": transaction.account[:64],
        "statement_id": transaction.statement_id[:100],
        "bank_reference": transaction.bank_reference[:100],
        "booking_date": transaction.booking_date,
        "value_date": transaction.value_date,
        "amount": transaction.amount,
        "currency": transaction.currency,
        "counterparty_name": transaction.counterparty_name[:200],
        "counterparty_iban": transaction.counterparty_iban[:34],
        "remittance": transaction.remittance,
        "end_to_end_id": transaction.end_to_end_id[:100],
        "status": TransactionStatus.UNMATCHED.value,
        "imported_by": actor[:300],
        "imported_at": utcnow(),
    }


def _insert_new(merchant_id: int, transactions: list[BankTransaction], actor: str) -> dict[str, int]:
    """Insert transfers not stored yet; return the new ones' ids by transaction id."""
    table = BankTransactionRecord.__table__
    statement = (
        _insert(table)
        .on_conflict_do_nothing(index_elements=["merchant_id", "transaction_id"])
        .returning(table.c.id, table.c.transaction_id)
    )
    inserted: dict[str, int] = {}
    for start in range(0, len(transactions), INSERT_BATCH):
        batch = transactions[start : start + INSERT_BATCH]
        for row in db.session.execute(statement, [_record_row(merchant_id, t, actor) for t in batch]):
            inserted[row.transaction_id] = row.id
    return inserted


def parse_statement_file(data: bytes) -> list[BankTransaction]:
    """Parse a statement; an unreadable one is a 422 that says where it went wrong."""
    try:
        return list(parse_statement(data))
    except StatementError as error:
        raise UserValueError(
            f"The statement cannot be read: {error.message}",
            details={"file": [str(error)], "location": error.location},
        ) from None


def import_statement(merchant_id: int, data: bytes, *, actor: str) -> ImportResult:
    """Import a camt.053 or MT940 statement, match its new incoming payments and apply the sure ones."""
    transactions = parse_statement_file(data)
    # One import per merchant at a time: matching reads open amounts that applying changes.
    db.session.execute(sa.select(Merchant.id).where(Merchant.id == merchant_id).with_for_update())
    incoming = [t for t in transactions if t.is_incoming_payment]
    inserted = _insert_new(merchant_id, incoming, actor)
    new = [t for t in incoming if t.transaction_id in inserted]
    outcomes: Counter[str] = Counter()
    if new:
        merchant = db.session.get(Merchant, merchant_id)
        settings = MatchSettings(auto_threshold=matching_threshold(merchant))
        matcher = PaymentMatcher(_open_receivables(merchant_id), settings)
        # Each match is flushed once when stored; flushing again before every lookup made imports 3x slower.
        with db.session.no_autoflush:
            for proposal in matcher.match(new):
                record = db.session.get(BankTransactionRecord, inserted[proposal.transaction_id])
                outcomes[_store_proposal(record, proposal)] += 1
    result = ImportResult(
        new=len(new),
        already_known=len(incoming) - len(new),
        applied=outcomes[TransactionStatus.MATCHED.value],
        review=outcomes[TransactionStatus.REVIEW.value],
        unmatched=outcomes[TransactionStatus.UNMATCHED.value],
        not_incoming=len(transactions) - len(incoming),
    )
    record_event(
        "bank_statement.imported",
        actor=actor,
        merchant_id=merchant_id,
        target_type="merchant",
        target_id=merchant_id,
        details=result.to_dict(),
    )
    return result


def _debtor_names(receivable: Receivable) -> tuple[str, ...]:
    names = []
    for party in (receivable.buyer or {}, receivable.billing_address or {}):
        full = " ".join(filter(None, [party.get("first_name"), party.get("last_name")]))
        names.extend(name for name in (full, party.get("company")) if name)
    return tuple(dict.fromkeys(names))


def _known_ibans(merchant_id: int) -> dict[str, frozenset[str]]:
    rows = db.session.execute(
        sa.select(KnownPayerIban.email_key, KnownPayerIban.iban).filter_by(merchant_id=merchant_id)
    )
    known: dict[str, set[str]] = {}
    for email_key, iban in rows:
        known.setdefault(email_key, set()).add(iban)
    return {email_key: frozenset(ibans) for email_key, ibans in known.items()}


def _open_receivables(merchant_id: int) -> list[OpenReceivable]:
    """Return the merchant's receivables that still have a balance, as the matcher sees them."""
    receivables = db.session.scalars(
        sa.select(Receivable)
        .where(
            Receivable.merchant_id == merchant_id,
            Receivable.state.in_([state.value for state in MATCHABLE_STATES]),
            Receivable.total_amount - Receivable.paid_amount - Receivable.credited_amount > 0,
        )
        .order_by(Receivable.id)
    ).all()
    known = _known_ibans(merchant_id)
    return [
        OpenReceivable(
            id=receivable.id,
            payment_reference=assign_payment_reference(receivable),
            invoice_number=receivable.number,
            order_number=receivable.external_id if receivable.external_id != receivable.number else "",
            open_amount=receivable.balance,
            currency=receivable.currency,
            debtor_names=_debtor_names(receivable),
            known_ibans=known.get(receivable.email_key or "", frozenset()),
            due_date=receivable.due_date,
        )
        for receivable in receivables
    ]


def _store_proposal(record: BankTransactionRecord, proposal: MatchProposal) -> str:
    """Store a proposal as matches, applying it when it is automatic; return the transfer's status."""
    if not proposal.allocations:
        record.status = TransactionStatus.UNMATCHED.value
        return record.status
    explanation = proposal.explanation
    if proposal.unallocated > 0:
        explanation += f"; {proposal.unallocated} left unallocated"
    if proposal.alternatives:
        explanation += f"; alternatives: {', '.join(str(i) for i in proposal.alternatives)}"
    status = MatchStatus.AUTO_APPLIED if proposal.automatic else MatchStatus.REVIEW
    for allocation in proposal.allocations:
        match = PaymentMatch(
            merchant_id=record.merchant_id,
            transaction_id=record.id,
            receivable_id=allocation.receivable_id,
            amount=allocation.amount,
            rule=proposal.rule.value,
            confidence=Decimal(str(proposal.confidence)),
            status=status.value,
            explanation=explanation[:1000],
        )
        db.session.add(match)
        db.session.flush()
        if proposal.automatic:
            _apply(match, record, actor=ACTOR)
    record.status = (TransactionStatus.MATCHED if proposal.automatic else TransactionStatus.REVIEW).value
    return record.status


# -- applying ------------------------------------------------------------------------------------------------


def _apply(match: PaymentMatch, record: BankTransactionRecord, *, actor: str) -> None:
    """Credit a match's amount to its receivable with every effect (module docstring)."""
    receivable = db.session.scalar(sa.select(Receivable).filter_by(id=match.receivable_id).with_for_update())
    match.decided_by = actor[:300]
    match.decided_at = utcnow()
    ledger.record_payment(
        receivable,
        match.amount,
        record.booking_date,
        MoneySource.BANK_STATEMENT,
        external_id=f"payment_match:{match.id}",
        actor=actor,
        details={
            "bank_transaction": record.transaction_id,
            "payment_match": match.id,
            "rule": match.rule,
            "confidence": str(match.confidence),
        },
    )
    record_event(
        "payment_match.applied",
        actor=actor,
        merchant_id=receivable.merchant_id,
        target_type="receivable",
        target_id=receivable.id,
        details={
            "payment_match": match.id,
            "bank_transaction": record.transaction_id,
            "amount": str(match.amount),
            "rule": match.rule,
            "confidence": str(match.confidence),
            "status": match.status,
        },
    )
    if match.status == MatchStatus.CONFIRMED.value or MatchRule(match.rule) in EXPLICIT_RULES:
        _learn_iban(receivable, record.counterparty_iban)
    if receivable.balance <= 0:
        _withdraw_pending_handover(receivable, record)
    _queue_shop_updates(match, record, receivable)


def _learn_iban(receivable: Receivable, iban: str) -> None:
    if not iban or not receivable.email_key:
        return
    db.session.execute(
        _insert(KnownPayerIban)
        .values(
            merchant_id=receivable.merchant_id, email_key=receivable.email_key, iban=iban, learned_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["merchant_id", "email_key", "iban"])
    )


def _withdraw_pending_handover(receivable: Receivable, record: BankTransactionRecord) -> None:
    pending = db.session.scalars(
        sa.select(Handover.id).where(
            Handover.receivable_id == receivable.id, Handover.status.in_(PENDING_HANDOVER)
        )
    ).all()
    for handover_id in pending:
        decide_handover(
            receivable.merchant_id,
            handover_id,
            "withdraw",
            actor=ACTOR,
            note=f"paid by bank transfer of {record.booking_date.isoformat()}",
        )


# -- review --------------------------------------------------------------------------------------------------


def list_matches(merchant_id: int, status: str | None) -> list[PaymentMatch]:
    """Return the merchant's matches (optionally of one status), oldest first."""
    query = sa.select(PaymentMatch).filter_by(merchant_id=merchant_id).order_by(PaymentMatch.id)
    if status:
        query = query.filter_by(status=status)
    return list(db.session.scalars(query))


def _locked_match(merchant_id: int, match_id: int) -> PaymentMatch:
    match = db.session.scalar(
        sa.select(PaymentMatch).filter_by(id=match_id, merchant_id=merchant_id).with_for_update()
    )
    if match is None:
        raise NotFoundError("payment match not found")
    return match


def _undecided(match: PaymentMatch, decision: MatchStatus) -> bool:
    """Say whether the match still awaits review; repeating the decision taken is a no-op, another is 409."""
    if match.status == MatchStatus.REVIEW.value:
        return True
    if match.status == decision.value:
        return False
    raise ConflictError(
        f"payment match {match.id} is {match.status}, not in review", details={"status": match.status}
    )


def confirm_match(merchant_id: int, match_id: int, *, actor: str) -> PaymentMatch:
    """Apply a match a person confirmed."""
    match = _locked_match(merchant_id, match_id)
    if _undecided(match, MatchStatus.CONFIRMED):
        record = db.session.get(BankTransactionRecord, match.transaction_id)
        match.status = MatchStatus.CONFIRMED.value
        _apply(match, record, actor=actor)
        record.status = TransactionStatus.MATCHED.value
    return match


def reject_match(merchant_id: int, match_id: int, *, actor: str) -> PaymentMatch:
    """Reject a proposed match; a transfer none of whose matches stands is unmatched again."""
    match = _locked_match(merchant_id, match_id)
    if _undecided(match, MatchStatus.REJECTED):
        match.status = MatchStatus.REJECTED.value
        match.decided_by = actor[:300]
        match.decided_at = utcnow()
        record = db.session.get(BankTransactionRecord, match.transaction_id)
        standing = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PaymentMatch)
            .where(
                PaymentMatch.transaction_id == record.id,
                PaymentMatch.status != MatchStatus.REJECTED.value,
            )
        )
        if not standing:
            record.status = TransactionStatus.UNMATCHED.value
        record_event(
            "payment_match.rejected",
            actor=actor,
            merchant_id=merchant_id,
            target_type="receivable",
            target_id=match.receivable_id,
            details={"payment_match": match.id, "bank_transaction": record.transaction_id},
        )
    return match


# -- telling the shop ----------------------------------------------------------------------------------------


def payment_note(match: PaymentMatch, record: BankTransactionRecord, receivable: Receivable) -> str:
    """Return the order note that tells shop staff about a bank transfer."""
    return (
        f"ClaimBridge: bank transfer of {match.amount} {record.currency} booked {record.booking_date.isoformat()}"
        f" from {record.counterparty_name or 'unknown payer'} applied ({match.rule}, reference"
        f" {receivable.payment_reference}); open balance {receivable.balance} {receivable.currency}."
    )


def _queue_shop_updates(match: PaymentMatch, record: BankTransactionRecord, receivable: Receivable) -> None:
    """Queue the payment state and a note for the order's shop, once per match (the shop outbox sends them)."""
    connection = db.session.get(ShopConnection, receivable.connection_id)
    if connection is None or connection.platform not in SHOP_PLATFORMS:
        return
    for kind, payload in (
        (ShopUpdateKind.PAYMENT, {}),
        (ShopUpdateKind.NOTE, {"text": payment_note(match, record, receivable)}),
    ):
        queue_shop_update(
            merchant_id=receivable.merchant_id,
            connection_id=connection.id,
            external_order_id=receivable.external_id,
            kind=kind,
            key=f"payment_match:{match.id}:{kind.value}",
            payload=payload,
        )


def transactions_of(merchant_id: int, ids: Iterable[int]) -> dict[int, BankTransactionRecord]:
    """Return the merchant's stored transfers by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = db.session.scalars(
        sa.select(BankTransactionRecord).where(
            BankTransactionRecord.merchant_id == merchant_id, BankTransactionRecord.id.in_(wanted)
        )
    )
    return {row.id: row for row in rows}
