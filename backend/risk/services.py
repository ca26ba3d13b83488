"""Risk checks at checkout: buyer context from history and velocity, overrides, bureau, the stored decision."""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backend.audit.services import record_event
from backend.errors import NotFoundError, UserValueError
from backend.extensions import db, utcnow
from backend.merchants.models import RiskPolicyRecord
from backend.merchants.policy import VELOCITY_KINDS, RiskPolicy
from backend.merchants.policy_store import bureau_account, get_policy
from backend.metrics import count_risk_decision
from backend.receivables.models import Receivable
from backend.receivables.states import OUTSTANDING, State
from backend.risk.bureau import bureau_result_for
from backend.risk.engine import Override, evaluate, should_call_bureau
from backend.risk.identity import (
    IdentityKeys,
    identity_keys,
    keyed_hash,
    normalise_email,
    normalise_name_address,
    normalise_phone,
)
from backend.risk.inputs import Address, BuyerContext, CheckInput, VelocityCounts
from backend.risk.models import IDENTITY_KINDS, BuyerOverride, CreditReport, RiskCheck
from connectors.bureaus.base import BureauResult, CorrectedAddress, CreditBureau
from connectors.bureaus.payone import PayoneBureau

logger = logging.getLogger(__name__)

CHECK_VALIDITY = timedelta(minutes=30)
CENT = Decimal("0.01")
DAY = timedelta(days=1)
MONTH = timedelta(days=30)
DEFAULT_RETENTION_DAYS = RiskPolicy().retention_days
# Identity kinds an override can name, in the order they are matched.
OVERRIDE_KINDS = ("email", "phone", "name_address")
KEY_COLUMNS = {
    "email": RiskCheck.email_key,
    "phone": RiskCheck.phone_key,
    "address": RiskCheck.address_key,
    "shipping_address": RiskCheck.shipping_address_key,
    "ip": RiskCheck.ip_key,
}


# -- bureau clients ------------------------------------------------------------------------------------------


# Bureau clients by everything they are built from, one per process: checks then reuse a client's open TLS
# connections instead of paying a handshake out of the bureau's time budget. A changed account or setting makes
# a new key; the oldest clients are closed beyond MAX_BUREAU_CLIENTS.
MAX_BUREAU_CLIENTS = 100
bureau_clients: dict[tuple[Any, ...], PayoneBureau] = {}


def bureau_for(merchant_id: int, policy: RiskPolicy) -> CreditBureau | None:
    """Return the merchant's credit bureau client, or None without an account."""
    account = bureau_account(merchant_id)
    if account is None:
        return None
    config = current_app.config
    settings = {
        **account,
        "score_type": policy.bureau.score_type,
        "address_check_type": policy.bureau.address_check_type,
        "timeout_budget": config["CLAIMBRIDGE_BUREAU_TIMEOUT"],
        "base_url": config["CLAIMBRIDGE_PAYONE_URL"],
        "allow_private": config["CLAIMBRIDGE_ALLOW_PRIVATE_URLS"],
    }
    key = tuple(sorted(settings.items()))
    client = bureau_clients.get(key)
    if client is None:
        if len(bureau_clients) >= MAX_BUREAU_CLIENTS:
            oldest = next(iter(bureau_clients))
            bureau_clients.pop(oldest).close()
        client = bureau_clients[key] = PayoneBureau(**settings)
    return client


def close_bureau_clients() -> None:
    """Close every cached bureau client and its connections."""
    while bureau_clients:
        bureau_clients.popitem()[1].close()


# -- buyer context -------------------------------------------------------------------------------------------


# Counting stops here: velocity thresholds are single digits, and a shared IP must not cost a long scan.
VELOCITY_ROWS_PER_KEY = 200


@functools.cache
def _velocity_statement(kinds: tuple[str, ...]) -> sa.CompoundSelect:
    """Build (once per combination of identity kinds) a UNION ALL of plain index range reads, one per key.

    Aggregating in Python over these few rows is cheaper than twenty COUNT(DISTINCT …) in SQL, which
    PostgreSQL plans and sorts one by one.
    """
    # Whether the checkout became an invoice order: a receivable of the merchant names the check.
    placed = (
        sa.select(Receivable.id)
        .where(
            Receivable.merchant_id == sa.bindparam("merchant_id"), Receivable.risk_check_id == RiskCheck.id
        )
        .exists()
    )
    branches = [
        sa.select(
            sa.literal(position).label("kind"),
            sa.func.coalesce(RiskCheck.reference, RiskCheck.id).label("checkout"),
            RiskCheck.created_at,
            RiskCheck.name_key,
            RiskCheck.address_key,
            placed.label("placed"),
        )
        .where(
            RiskCheck.merchant_id == sa.bindparam("merchant_id"),
            KEY_COLUMNS[kind] == sa.bindparam(f"{kind}_key"),
            RiskCheck.created_at >= sa.bindparam("month_ago"),
        )
        .limit(VELOCITY_ROWS_PER_KEY)
        for position, kind in enumerate(kinds)
    ]
    return sa.union_all(*(branch.subquery().select() for branch in branches))


# The identities a buyer's receivables are linked by: their e-mail, their billing address, the address they
# ship to now (someone's billing address before: shipping to a known defaulter), and their phone number
# through the checks that became orders.
HISTORY_KINDS = ("email", "address", "shipping_address", "phone")
# Linking by phone reads the checks with that number; a number shared by many checks is cut off here.
LINKED_CHECKS_PER_PHONE = 200


def _history_match(kind: str) -> sa.ColumnElement[bool]:
    key = sa.bindparam(f"{kind}_key")
    if kind == "email":
        return Receivable.email_key == key
    if kind in ("address", "shipping_address"):  # both are keyed as kind "address" (identity.identity_keys)
        return Receivable.address_key == key
    linked_checks = (
        sa.select(RiskCheck.id)
        .where(RiskCheck.merchant_id == sa.bindparam("merchant_id"), RiskCheck.phone_key == key)
        .order_by(RiskCheck.created_at.desc())
        .limit(LINKED_CHECKS_PER_PHONE)
    )
    return Receivable.risk_check_id.in_(linked_checks)


@functools.cache
def _standing_statement(history_kinds: tuple[str, ...], override_kinds: tuple[str, ...]) -> sa.Select:
    """Build (once per combination of identity kinds) the buyer's standing at the merchant, one row:
    their receivables summed up (matched on e-mail or billing address) and the merchant's override for
    any of their identities (``never_allow`` wins a tie, then the oldest)."""
    # The buyer's receivables as a union of index reads, one per identity: as one OR, PostgreSQL could not use
    # the indexes once the phone's linked checks were a subquery, and scanned every receivable of the merchant.
    matched = sa.union_all(
        *(
            sa.select(Receivable.id).where(
                Receivable.merchant_id == sa.bindparam("merchant_id"), _history_match(kind)
            )
            for kind in history_kinds
        )
    )
    # Plain comparisons rather than IN: an expanding IN list re-renders the SQL on every execution.
    outstanding = sa.or_(*(Receivable.state == state.value for state in sorted(OUTSTANDING)))
    balance = Receivable.total_amount - Receivable.paid_amount - Receivable.credited_amount
    overdue = outstanding & (Receivable.due_date < sa.bindparam("today")) & (Receivable.dunning_level == 0)
    override: sa.ColumnElement[Any] = sa.null()
    if override_kinds:
        override = (
            sa.select(BuyerOverride.mode)
            .where(
                BuyerOverride.merchant_id == sa.bindparam("merchant_id"),
                sa.or_(
                    *(
                        (BuyerOverride.key_kind == kind)
                        & (BuyerOverride.key_hash == sa.bindparam(f"{kind}_key"))
                        for kind in override_kinds
                    )
                ),
            )
            .order_by(
                sa.case((BuyerOverride.mode == Override.NEVER_ALLOW.value, 0), else_=1), BuyerOverride.id
            )
            .limit(1)
            .scalar_subquery()
        )
    return sa.select(
        sa.func.count().label("previous_orders"),
        sa.func.count(sa.case((outstanding, 1))).label("open_orders"),
        sa.func.count(sa.case((Receivable.paid_amount > 0, 1))).label("paid_orders"),
        sa.func.coalesce(sa.func.sum(sa.case((outstanding, balance), else_=0)), 0).label("open_exposure"),
        sa.func.count(sa.case((overdue, 1))).label("unpaid_orders"),
        sa.func.count(sa.case((Receivable.dunning_level > 0, 1))).label("dunned_orders"),
        sa.func.count(sa.case((Receivable.state == State.IN_COLLECTION.value, 1))).label(
            "handed_over_orders"
        ),
        override.label("override"),
    ).where(
        Receivable.merchant_id == sa.bindparam("merchant_id"),
        Receivable.id.in_(matched) if history_kinds else sa.false(),
    )


@functools.cache
def _context_statement(
    velocity_kinds: tuple[str, ...], history_kinds: tuple[str, ...], override_kinds: tuple[str, ...]
) -> sa.Select:
    """Build (once per combination of identity kinds) the buyer's context as one statement: the standing (one
    row) LEFT JOINed to the velocity rows (none or more), so one round trip answers both."""
    standing = _standing_statement(history_kinds, override_kinds).subquery("standing")
    if not velocity_kinds:
        return sa.select(standing)
    velocity = _velocity_statement(velocity_kinds).subquery("velocity")
    return sa.select(standing, velocity).select_from(standing.outerjoin(velocity, sa.true()))


def buyer_context(
    connection: sa.Connection, merchant_id: int, keys: IdentityKeys, now: datetime
) -> tuple[BuyerContext, str | None]:
    """Return what the merchant's records say about this buyer, and the merchant's override for them.

    History and open exposure come from the buyer's receivables (matched on e-mail or billing address);
    velocity counts earlier checkouts (by cart), other names and other addresses sharing each identity key.
    """
    velocity_kinds = tuple(kind for kind in VELOCITY_KINDS if getattr(keys, kind))
    history_kinds = tuple(kind for kind in HISTORY_KINDS if getattr(keys, kind))
    override_kinds = tuple(kind for kind in OVERRIDE_KINDS if getattr(keys, kind))
    params: dict[str, Any] = {"merchant_id": merchant_id, "today": now.date(), "month_ago": now - MONTH}
    for kind in {*velocity_kinds, *history_kinds, *override_kinds}:
        params[f"{kind}_key"] = getattr(keys, kind)
    rows = connection.execute(_context_statement(velocity_kinds, history_kinds, override_kinds), params).all()
    standing = rows[0]
    velocity_rows = [row for row in rows if row.kind is not None] if velocity_kinds else []
    context = BuyerContext(
        previous_orders=standing.previous_orders,
        open_orders=standing.open_orders,
        paid_orders=standing.paid_orders,
        open_exposure=Decimal(standing.open_exposure).quantize(CENT),
        unpaid_orders=standing.unpaid_orders,
        dunned_orders=standing.dunned_orders,
        handed_over_orders=standing.handed_over_orders,
        velocity=_velocity_counts(keys, velocity_kinds, velocity_rows, now - DAY),
    )
    return context, standing.override


def _velocity_counts(
    keys: IdentityKeys, kinds: tuple[str, ...], rows: Iterable[sa.Row[Any]], day_ago: datetime
) -> dict[str, VelocityCounts]:
    seen: dict[int, tuple[set[str], set[str], set[str], set[str], set[str]]] = {}
    for row in rows:
        recent, month, names, addresses, placed = seen.setdefault(
            row.kind, (set(), set(), set(), set(), set())
        )
        month.add(row.checkout)
        if row.created_at >= day_ago:
            recent.add(row.checkout)
            if row.placed:
                placed.add(row.checkout)
        if row.name_key and row.name_key != keys.name:
            names.add(row.name_key)
        if row.address_key and row.address_key != keys.address:
            addresses.add(row.address_key)
    return {
        kinds[kind]: VelocityCounts(len(recent), len(month), len(names), len(addresses), len(placed))
        for kind, (recent, month, names, addresses, placed) in seen.items()
    }


# -- overrides -----------------------------------------------------------------------------------------------


def override_keys(identity: dict[str, Any]) -> dict[str, str]:
    """Hash the identities a merchant names in an override (e-mail, phone, name with billing address)."""
    secret = current_app.config["CLAIMBRIDGE_IDENTITY_KEY"]
    keys: dict[str, str] = {}
    if identity.get("email"):
        keys["email"] = keyed_hash(secret, "email", normalise_email(identity["email"]))
    address = identity.get("billing_address")
    country = (address or {}).get("country") or "DE"
    if identity.get("phone"):
        keys["phone"] = keyed_hash(secret, "phone", normalise_phone(identity["phone"], country))
    if address:
        keys["name_address"] = keyed_hash(
            secret, "name_address", normalise_name_address(Address.from_payload(address))
        )
    return {kind: value for kind, value in keys.items() if value}


def set_buyer_override(
    merchant_id: int, identity: dict[str, Any], mode: str | None, *, note: str, actor: str
) -> list[BuyerOverride]:
    """Set (or with mode None, clear) the merchant's decision for every identity named."""
    keys = override_keys(identity)
    if not keys:
        raise UserValueError(
            "Name the buyer by e-mail, phone or name with billing address.",
            details={"/email": ["one of email, phone, billing_address is required"]},
        )
    stored: list[BuyerOverride] = []
    for kind, value in keys.items():
        row = db.session.scalar(
            sa.select(BuyerOverride).filter_by(merchant_id=merchant_id, key_kind=kind, key_hash=value)
        )
        if mode is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = BuyerOverride(merchant_id=merchant_id, key_kind=kind, key_hash=value)
            db.session.add(row)
        row.mode, row.note, row.created_by, row.created_at = mode, note, actor, utcnow()
        stored.append(row)
    db.session.flush()
    record_event(
        "buyer_override.cleared" if mode is None else "buyer_override.set",
        actor=actor,
        merchant_id=merchant_id,
        target_type="buyer_override",
        details={"kinds": sorted(keys), "mode": mode, "note": note},
    )
    return stored


# -- bureau --------------------------------------------------------------------------------------------------


def _cached_report(
    merchant_id: int, key: str, provider: str, days: int, now: datetime
) -> BureauResult | None:
    report = db.session.scalar(
        sa.select(CreditReport)
        .where(
            CreditReport.merchant_id == merchant_id,
            CreditReport.identity_key == key,
            CreditReport.provider == provider,
            CreditReport.fetched_at >= now - timedelta(days=days),
        )
        .order_by(CreditReport.fetched_at.desc())
        .limit(1)
    )
    if report is None:
        return None
    data = dict(report.result)
    corrected = data.pop("corrected_address", None)
    return BureauResult(**data, corrected_address=CorrectedAddress(**corrected) if corrected else None)


def _bureau_result(
    connection: sa.Connection,
    merchant_id: int,
    check: CheckInput,
    keys: IdentityKeys,
    policy: RiskPolicy,
    now: datetime,
) -> BureauResult | None:
    """Return a cached or fresh bureau answer; failures are returned (the policy decides), not raised."""
    bureau = bureau_for(merchant_id, policy)
    if bureau is None:
        return None
    key = keys.name_address
    cached = _cached_report(merchant_id, key, bureau.provider, policy.bureau.cache_days, now) if key else None
    if cached is not None:
        return cached
    result = bureau_result_for(bureau, check)
    if result.ok and key:
        connection.execute(
            sa.insert(CreditReport),
            {
                "merchant_id": merchant_id,
                "identity_key": key,
                "provider": bureau.provider,
                "score_type": policy.bureau.score_type,
                "result": {**asdict(result), "raw": dict(result.raw)},
                "fetched_at": now,
            },
        )
    return result


# -- the check -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCheck:
    """A check just stored, as its callers read it: the API's answer, the Shopware gateway, the after-order check.

    Building the ORM object instead would cost more than the INSERT that stored the row.
    """

    id: str
    reference: str | None
    decision: str
    score: int
    rule: str
    reasons: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    offered_methods: list[str]
    hidden_methods: list[str]
    bureau: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime


_STORED_FIELDS = StoredCheck.__slots__


def run_risk_check(
    merchant_id: int,
    payload: dict[str, Any],
    raw_input: dict[str, Any] | None = None,
    *,
    connection: sa.Connection | None = None,
) -> StoredCheck:
    """Decide whether invoice may be offered for this checkout, and store the decision with its reasons.

    ``payload`` is the validated request; ``raw_input`` the request as the shop sent it (JSON types), kept
    until the retention period ends. The reads and the INSERT run as Core statements on ``connection``
    (default: the session's, committed by the caller).
    """
    started = time.perf_counter()
    now = utcnow()
    policy = get_policy(merchant_id)
    check = CheckInput.from_payload(payload)
    keys = identity_keys(check, current_app.config["CLAIMBRIDGE_IDENTITY_KEY"])
    connection = connection or db.session.connection()
    context, override_mode = buyer_context(connection, merchant_id, keys, now)
    decision = evaluate(check, context, policy, override=override_mode)
    if should_call_bureau(check, policy, decision=decision, override=override_mode):
        bureau_result = _bureau_result(connection, merchant_id, check, keys, policy, now)
        if bureau_result is not None:
            decision = evaluate(check, context, policy, override=override_mode, bureau_result=bureau_result)
    values = {
        "id": str(uuid.uuid4()),
        "merchant_id": merchant_id,
        "reference": check.reference or None,
        "amount": check.amount,
        "currency": check.currency,
        "decision": decision.action.value,
        "score": decision.score,
        "rule": decision.rule.value,
        "reasons": _json_ready(
            [{"code": str(r.code), "weight": r.weight, "params": dict(r.params)} for r in decision.reasons]
        ),
        "warnings": _json_ready(
            [{"code": str(w.code), "field": w.field, "params": dict(w.params)} for w in decision.warnings]
        ),
        "offered_methods": list(check.payment_methods),
        "hidden_methods": list(decision.hidden_methods),
        **{f"{kind}_key": getattr(keys, kind) or None for kind in IDENTITY_KINDS},
        "bureau": _bureau_summary(decision.bureau),
        "raw_input": raw_input if raw_input is not None else _json_ready(payload),
        "created_at": now,
        "expires_at": now + CHECK_VALIDITY,
    }
    values["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    connection.execute(_INSERT_CHECK, values)
    count_risk_decision(values["decision"], [reason["code"] for reason in values["reasons"]])
    return StoredCheck(**{name: values[name] for name in _STORED_FIELDS})


_INSERT_CHECK = sa.insert(RiskCheck.__table__)


def _json_ready(value: Any) -> Any:
    """Return ``value`` with Decimals, dates and other non-JSON scalars as strings, as a JSON column stores it."""
    return json.loads(json.dumps(value, default=str))


def _bureau_summary(result: BureauResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "provider": result.provider,
        "traffic_light": result.traffic_light,
        "score_value": result.score_value,
        "person_status": result.person_status,
        "error": result.error,
    }


def get_risk_check(merchant_id: int, check_id: str) -> RiskCheck:
    """Return one of the merchant's stored checks."""
    row = db.session.scalar(sa.select(RiskCheck).filter_by(id=check_id, merchant_id=merchant_id))
    if row is None:
        raise NotFoundError(f"risk check {check_id} not found")
    return row


def purge_raw_inputs(now: datetime | None = None) -> int:
    """Drop raw checkout data older than each merchant's retention days; hashes and decisions stay."""
    now = now or utcnow()
    custom = {
        record.merchant_id: RiskPolicy.from_dict(record.document).retention_days
        for record in db.session.scalars(sa.select(RiskPolicyRecord))
    }
    purged = 0
    for days in sorted(set(custom.values()) | {DEFAULT_RETENTION_DAYS}):
        merchants_with_days = [m for m, d in custom.items() if d == days]
        scope = RiskCheck.merchant_id.in_(merchants_with_days)
        if days == DEFAULT_RETENTION_DAYS:
            scope = sa.or_(scope, RiskCheck.merchant_id.not_in(list(custom)) if custom else sa.true())
        result = db.session.execute(
            sa.update(RiskCheck)
            .where(RiskCheck.raw_input.is_not(None), RiskCheck.created_at < now - timedelta(days=days), scope)
            .values(raw_input=None)
        )
        purged += result.rowcount or 0
    return purged
