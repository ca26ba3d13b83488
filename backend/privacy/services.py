"""Export and erase one buyer's data within one merchant.

A buyer is named by e-mail address; everything ClaimBridge links to that address is found through the keyed
hash it stores (``CLAIMBRIDGE_IDENTITY_KEY``), never by scanning raw data.

What an erasure keeps, and why:

- **Open claims** (a balance is owed, or the receivable is disputed or with the agency) stay whole: they are
  needed to establish, exercise or defend legal claims (Art. 17(3)(e) GDPR).
- **Settled receivables** keep the invoice's recipient (name, company, billing address: § 14(4) UStG), the
  amounts, dates, line items and the ledger history: they are the merchant's accounting records, kept for the
  periods of § 147 AO and § 257 HGB (Art. 17(3)(b)). The buyer's e-mail, phone, customer number, delivery
  address and identity hashes are removed through the ledger (``erase_buyer_contact``), so the receivable no
  longer links to the buyer's checkouts and a sync from the shop does not bring them back.
- **Dunning notices** keep channel, dates and the content hash (business letters, § 257(1) No. 3 HGB); they
  hold no address. **Bank transactions** matched to the buyer's receivables are booking vouchers (§ 147 AO)
  and follow the bank-transaction retention (``payments/retention.py``).
- **The merchant's "never offer invoice" block** for the e-mail stays, as the keyed hash only and without its
  note: the merchant's legitimate interest in not giving a known non-payer credit again outweighs (Art. 21(1),
  Art. 17(1)(c) GDPR) and defends its claims (Art. 17(3)(e)). **A dunning stop** for the buyer stays without
  its reason: deleting it would start dunning the buyer again.
- **The audit trail** is append-only and holds who did what, not the buyer's contact data.

Deleted: the buyer's risk checks (with raw checkout data and every identity hash) and the Shopware checkout
decisions made from them, credit reports fetched for them, the merchant's other overrides for the e-mail, and
payer IBANs learned from their payments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.dunning.models import DunningBuyerStop, DunningNotice
from backend.errors import UserValueError
from backend.extensions import db, utcnow
from backend.handovers.models import Handover
from backend.payments.models import BankTransactionRecord, KnownPayerIban, PaymentMatch
from backend.receivables import ledger
from backend.receivables.models import Receivable, ReceivableEvent
from backend.receivables.states import State
from backend.risk.identity import keyed_hash, normalise_email
from backend.risk.models import BuyerOverride, CreditReport, RiskCheck

# An open claim: something is owed, or it is in dispute or in collection (Art. 17(3)(e) GDPR).
CLAIM_STATES = frozenset({State.OPEN, State.PARTIALLY_PAID, State.DISPUTED, State.IN_COLLECTION})
RECEIVABLE_FIELDS = (
    "number",
    "state",
    "currency",
    "total_amount",
    "paid_amount",
    "credited_amount",
    "payment_method",
    "ordered_at",
    "invoice_date",
    "due_date",
    "paid_at",
    "buyer",
    "billing_address",
    "shipping_address",
    "line_items",
    "dispute_reason",
    "dunning_stop_reason",
    "payment_reference",
    "risk_check_id",
)
# What an erasure keeps, and the law that asks for it; an export says the same.
KEPT = (
    "open claims in full, to establish, exercise or defend them (Art. 17(3)(e) GDPR)",
    "the invoice recipient's name and billing address, amounts, dates, items and ledger history of settled "
    "receivables: accounting records (§ 147 AO, § 257 HGB, § 14(4) UStG; Art. 17(3)(b) GDPR)",
    "dunning notices' dates, channel and content hash (business letters, § 257(1) No. 3 HGB)",
    "bank transactions until their retention ends (booking vouchers, § 147 AO)",
    "the merchant's block on offering invoice to the buyer, as a keyed hash of the e-mail without its note: "
    "legitimate interest in not giving a known non-payer credit again (Art. 21(1), Art. 17(1)(c) and (3)(e) GDPR)",
    "a dunning stop for the buyer, without its reason, so dunning does not start again",
)
# Rows a higher layer (a shop protocol) keeps for a buyer's risk checks, by export name: a function returning
# them for the checks' ids. They go with the checks (ON DELETE CASCADE); see ``register_check_linked_data``.
CheckLinkedRows = Callable[[list[str]], list[dict[str, Any]]]
CHECK_LINKED_DATA: dict[str, CheckLinkedRows] = {}
# A block that keeps a known non-payer from paying on invoice again; it survives an erasure (see KEPT).
BLOCKING_MODE = "never_allow"
CHECK_FIELDS = (
    "id",
    "created_at",
    "reference",
    "amount",
    "currency",
    "decision",
    "score",
    "reasons",
    "offered_methods",
    "hidden_methods",
    "bureau",
    "raw_input",
)


def register_check_linked_data(name: str, rows: CheckLinkedRows) -> None:
    """Add rows that a buyer's risk checks own to the export (Art. 15) and the erasure report."""
    CHECK_LINKED_DATA[name] = rows


def email_key(email: str) -> str:
    """Return the keyed hash ClaimBridge stores for an e-mail address; 422 for one that normalises to nothing."""
    key = keyed_hash(current_app.config["CLAIMBRIDGE_IDENTITY_KEY"], "email", normalise_email(email))
    if not key:
        raise UserValueError("That is not an e-mail address.", details={"/email": ["not an e-mail address"]})
    return key


def _receivables(merchant_id: int, key: str) -> list[Receivable]:
    return list(
        db.session.scalars(
            sa.select(Receivable).filter_by(merchant_id=merchant_id, email_key=key).order_by(Receivable.id)
        )
    )


def _checks(merchant_id: int, key: str) -> list[RiskCheck]:
    return list(
        db.session.scalars(
            sa.select(RiskCheck)
            .filter_by(merchant_id=merchant_id, email_key=key)
            .order_by(RiskCheck.created_at)
        )
    )


def _columns(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _receivable_export(receivable: Receivable) -> dict[str, Any]:
    data = _columns(receivable, *RECEIVABLE_FIELDS)
    data["balance"] = receivable.balance
    data["history"] = [
        _columns(event, "kind", "amount", "booked_on", "source", "created_at")
        for event in db.session.scalars(
            sa.select(ReceivableEvent).filter_by(receivable_id=receivable.id).order_by(ReceivableEvent.id)
        )
    ]
    data["dunning_notices"] = [
        _columns(notice, "kind", "level", "channel", "fee", "status", "sent_at", "deadline_on")
        for notice in db.session.scalars(
            sa.select(DunningNotice).filter_by(receivable_id=receivable.id).order_by(DunningNotice.id)
        )
    ]
    data["handovers"] = [
        _columns(
            h, "status", "agency", "agency_reference", "total", "proposed_at", "submitted_at", "closed_at"
        )
        for h in db.session.scalars(
            sa.select(Handover).filter_by(receivable_id=receivable.id).order_by(Handover.id)
        )
    ]
    data["payments_from_bank"] = [
        {
            "booking_date": tx.booking_date,
            "amount": match.amount,
            "payer_name": tx.counterparty_name,
            "payer_iban": tx.counterparty_iban,
            "remittance": tx.remittance,
            "status": match.status,
        }
        for match, tx in db.session.execute(
            sa.select(PaymentMatch, BankTransactionRecord)
            .join(BankTransactionRecord, BankTransactionRecord.id == PaymentMatch.transaction_id)
            .where(PaymentMatch.receivable_id == receivable.id)
            .order_by(PaymentMatch.id)
        ).all()
    ]
    return data


def export_buyer(merchant_id: int, email: str) -> dict[str, Any]:
    """Return everything the merchant's ClaimBridge holds on the buyer with this e-mail (Art. 15 GDPR)."""
    key = email_key(email)
    checks = _checks(merchant_id, key)
    name_keys = {check.name_address_key for check in checks if check.name_address_key}
    return {
        "email": email,
        "exported_at": utcnow(),
        "receivables": [_receivable_export(r) for r in _receivables(merchant_id, key)],
        "risk_checks": [_columns(check, *CHECK_FIELDS) for check in checks],
        "credit_reports": [
            _columns(report, "provider", "score_type", "result", "fetched_at")
            for report in db.session.scalars(
                sa.select(CreditReport).where(
                    CreditReport.merchant_id == merchant_id, CreditReport.identity_key.in_(name_keys)
                )
            )
        ],
        "overrides": [
            _columns(o, "mode", "note", "created_by", "created_at")
            for o in db.session.scalars(
                sa.select(BuyerOverride).filter_by(merchant_id=merchant_id, key_kind="email", key_hash=key)
            )
        ],
        "dunning_buyer_stops": [
            _columns(stop, "reason", "created_by", "created_at")
            for stop in db.session.scalars(
                sa.select(DunningBuyerStop).filter_by(merchant_id=merchant_id, email_key=key)
            )
        ],
        **{name: rows([check.id for check in checks]) for name, rows in CHECK_LINKED_DATA.items()},
        "retention": list(KEPT),
        "known_payer_ibans": [
            _columns(row, "iban", "learned_at")
            for row in db.session.scalars(
                sa.select(KnownPayerIban).filter_by(merchant_id=merchant_id, email_key=key)
            )
        ],
    }


def erase_buyer(merchant_id: int, email: str, *, actor: str) -> dict[str, Any]:
    """Erase the buyer's data within the merchant, keeping what law requires (Art. 17 GDPR); say what happened.

    Flushes; the caller commits.
    """
    key = email_key(email)
    checks = _checks(merchant_id, key)
    name_keys = {check.name_address_key for check in checks if check.name_address_key}
    kept_open, pseudonymised = [], []
    for receivable in _receivables(merchant_id, key):
        if receivable.state in CLAIM_STATES:
            kept_open.append(receivable.number)
            continue
        ledger.erase_buyer_contact(receivable, actor=actor)
        pseudonymised.append(receivable.number)
    override = (
        BuyerOverride.merchant_id == merchant_id,
        BuyerOverride.key_kind == "email",
        BuyerOverride.key_hash == key,
    )
    blanked = {
        "blocking_override_notes": _blank(
            BuyerOverride, "note", *override, BuyerOverride.mode == BLOCKING_MODE
        ),
        "dunning_stop_reasons": _blank(
            DunningBuyerStop,
            "reason",
            DunningBuyerStop.merchant_id == merchant_id,
            DunningBuyerStop.email_key == key,
        ),
    }
    deleted = {
        **{name: len(rows([check.id for check in checks])) for name, rows in CHECK_LINKED_DATA.items()},
        "risk_checks": _delete(RiskCheck, RiskCheck.merchant_id == merchant_id, RiskCheck.email_key == key),
        "credit_reports": _delete(
            CreditReport, CreditReport.merchant_id == merchant_id, CreditReport.identity_key.in_(name_keys)
        ),
        "overrides": _delete(BuyerOverride, *override, BuyerOverride.mode != BLOCKING_MODE),
        "known_payer_ibans": _delete(
            KnownPayerIban, KnownPayerIban.merchant_id == merchant_id, KnownPayerIban.email_key == key
        ),
    }
    report = {
        "deleted": deleted,
        "blanked": blanked,
        "pseudonymised_receivables": pseudonymised,
        "kept_open_claims": kept_open,
        "kept": list(KEPT),
    }
    # The trail names no e-mail: counts and order numbers only.
    record_event(
        "privacy.buyer_erased",
        actor=actor,
        merchant_id=merchant_id,
        target_type="buyer",
        details={k: v for k, v in report.items() if k != "kept"},
    )
    db.session.flush()
    return report


def _delete(model: Any, *conditions: sa.ColumnElement[bool]) -> int:
    return db.session.execute(sa.delete(model).where(*conditions)).rowcount


def _blank(model: Any, column: str, *conditions: sa.ColumnElement[bool]) -> int:
    """Empty a free-text column of the rows an erasure keeps; return how many rows it kept."""
    return db.session.execute(sa.update(model).where(*conditions).values({column: ""})).rowcount
