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

from backend.audit.services import record_event
from backend.errors import NotFoundError, UserValueError
from backend.extensions import PreparedStatement, current_application, db, utcnow
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
    config = current_application().config
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
# The identities a buyer's receivables are linked by: their e-mail, their billing address, the address they
# ship to now (someone's billing address before: shipping to a known defaulter), and their phone number
# through the checks that became orders.
HISTORY_KINDS = ("email", "address", "shipping_address", "phone")
# Linking by phone reads the checks with that number; a number shared by many checks is cut off here.
LINKED_CHECKS_PER_PHONE = 200

# The context statement is short on purpose. psycopg converts a statement's placeholders for the server once and
# keeps the result only for statements of at most 4,096 characters with at most 50 parameters; a longer one is
# converted again on every execution, which cost more client CPU than the rest of the read. So the tables get
# one-letter aliases and constants are written into the SQL instead of being bound (the statement is built
# once per combination of identity kinds, so they never vary); tests/risk/test_context_statement.py keeps
# the longest combination within those limits.
_MERCHANT = sa.bindparam("merchant_id")
_MONTH_AGO = sa.bindparam("month_ago")


def _constant(value: int | str) -> sa.ColumnElement[Any]:
    """Return ``value`` written into the SQL (one of this module's own numbers or enum values, never input)."""
    if isinstance(value, int):
        return sa.literal_column(str(value))
    if "'" in value:
        raise ValueError(f"not a plain constant: {value!r}")
    return sa.literal_column(f"'{value}'", sa.String)


def _velocity_statement(dialect: str, kinds: tuple[str, ...]) -> sa.Select:
    """The earlier checks sharing each identity key (a plain index range read per key, at most
    VELOCITY_ROWS_PER_KEY each), and whether each became an invoice order.

    Aggregating in Python over these few rows is cheaper than twenty COUNT(DISTINCT …) in SQL, which
    PostgreSQL plans and sorts one by one.
    """
    checks = RiskCheck.__table__.alias("c")
    branches = [
        sa.select(
            _constant(position).label("kind"),
            checks.c.id,
            checks.c.reference,
            checks.c.created_at,
            checks.c.name_key,
            checks.c.address_key,
        )
        .where(
            checks.c.merchant_id == _MERCHANT,
            checks.c[f"{kind}_key"] == sa.bindparam(f"{kind}_key"),
            checks.c.created_at >= _MONTH_AGO,
        )
        .limit(_constant(VELOCITY_ROWS_PER_KEY))
        for position, kind in enumerate(kinds)
    ]
    if dialect == "sqlite":  # SQLite takes no LIMIT inside a compound SELECT unless it is a subquery's
        branches = [branch.subquery(f"v{position}").select() for position, branch in enumerate(branches)]
    rows = sa.union_all(*branches).subquery("v")
    # Whether the checkout became an invoice order: a receivable of the merchant names the check.
    orders = Receivable.__table__.alias("p")
    placed = sa.select(_constant(1)).where(
        orders.c.merchant_id == _MERCHANT, orders.c.risk_check_id == rows.c.id
    )
    return sa.select(
        rows.c.kind,
        sa.func.coalesce(rows.c.reference, rows.c.id).label("checkout"),
        (rows.c.created_at >= sa.bindparam("day_ago")).label("recent"),
        rows.c.name_key,
        rows.c.address_key,
        placed.exists().label("placed"),
    )


def _history_match(receivables: sa.Alias, kind: str) -> sa.ColumnElement[bool]:
    key = sa.bindparam(f"{kind}_key")
    if kind == "email":
        return receivables.c.email_key == key
    if kind in ("address", "shipping_address"):  # both are keyed as kind "address" (identity.identity_keys)
        return receivables.c.address_key == key
    checks = RiskCheck.__table__.alias("l")
    linked_checks = (
        sa.select(checks.c.id)
        .where(checks.c.merchant_id == _MERCHANT, checks.c.phone_key == key)
        .order_by(checks.c.created_at.desc())
        .limit(_constant(LINKED_CHECKS_PER_PHONE))
    )
    return receivables.c.risk_check_id.in_(linked_checks)


def _standing_statement(history_kinds: tuple[str, ...], override_kinds: tuple[str, ...]) -> sa.Select:
    """The buyer's standing at the merchant, one row: their receivables summed up (matched on e-mail or
    billing address) and the merchant's override for any of their identities (``never_allow`` wins a tie,
    then the oldest)."""
    # The buyer's receivables as a union of index reads, one per identity: as one OR, PostgreSQL could not use
    # the indexes once the phone's linked checks were a subquery, and scanned every receivable of the merchant.
    linked = Receivable.__table__.alias("h")
    matched = sa.union_all(
        *(
            sa.select(linked.c.id).where(linked.c.merchant_id == _MERCHANT, _history_match(linked, kind))
            for kind in history_kinds
        )
    )
    receivables = Receivable.__table__.alias("r")
    one, zero = _constant(1), _constant(0)
    outstanding = receivables.c.state.in_([_constant(state.value) for state in sorted(OUTSTANDING)])
    balance = receivables.c.total_amount - receivables.c.paid_amount - receivables.c.credited_amount
    overdue = (
        outstanding & (receivables.c.due_date < sa.bindparam("today")) & (receivables.c.dunning_level == zero)
    )
    override: sa.ColumnElement[Any] = sa.null()
    if override_kinds:
        overrides = BuyerOverride.__table__.alias("o")
        override = (
            sa.select(overrides.c.mode)
            .where(
                overrides.c.merchant_id == _MERCHANT,
                sa.or_(
                    *(
                        (overrides.c.key_kind == _constant(kind))
                        & (overrides.c.key_hash == sa.bindparam(f"{kind}_key"))
                        for kind in override_kinds
                    )
                ),
            )
            .order_by(
                sa.case((overrides.c.mode == _constant(Override.NEVER_ALLOW.value), zero), else_=one),
                overrides.c.id,
            )
            .limit(one)
            .scalar_subquery()
        )
    return sa.select(
        sa.func.count().label("previous_orders"),
        sa.func.count(sa.case((outstanding, one))).label("open_orders"),
        sa.func.count(sa.case((receivables.c.paid_amount > zero, one))).label("paid_orders"),
        sa.func.coalesce(sa.func.sum(sa.case((outstanding, balance), else_=zero)), zero).label(
            "open_exposure"
        ),
        sa.func.count(sa.case((overdue, one))).label("unpaid_orders"),
        sa.func.count(sa.case((receivables.c.dunning_level > zero, one))).label("dunned_orders"),
        sa.func.count(sa.case((receivables.c.state == _constant(State.IN_COLLECTION.value), one))).label(
            "handed_over_orders"
        ),
        override.label("override"),
    ).where(
        receivables.c.merchant_id == _MERCHANT,
        receivables.c.id.in_(matched) if history_kinds else sa.false(),
    )


def context_statement(
    dialect: str,
    velocity_kinds: tuple[str, ...],
    history_kinds: tuple[str, ...],
    override_kinds: tuple[str, ...],
) -> sa.Select:
    """Build the buyer's context as one statement: the standing (one row) LEFT JOINed to the velocity rows
    (none or more), so one round trip answers both."""
    standing = _standing_statement(history_kinds, override_kinds).subquery("s")
    if not velocity_kinds:
        return sa.select(standing)
    velocity = _velocity_statement(dialect, velocity_kinds).subquery("v")
    return sa.select(standing, velocity).select_from(standing.outerjoin(velocity, sa.true()))


@functools.cache
def _prepared_context(
    dialect: str,
    velocity_kinds: tuple[str, ...],
    history_kinds: tuple[str, ...],
    override_kinds: tuple[str, ...],
) -> PreparedStatement:
    """The context statement for one dialect and combination of identity kinds, compiled once."""
    return PreparedStatement(context_statement(dialect, velocity_kinds, history_kinds, override_kinds))


# Columns of the context statement's rows: the standing's, then a velocity row's (None without one).
(_PREVIOUS, _OPEN, _PAID, _EXPOSURE, _UNPAID, _DUNNED, _HANDED_OVER, _OVERRIDE) = range(8)
_KIND, _CHECKOUT, _RECENT, _NAME_KEY, _ADDRESS_KEY, _PLACED = range(8, 14)


def buyer_context(
    connection: sa.Connection, merchant_id: int, keys: IdentityKeys, now: datetime
) -> tuple[BuyerContext, str | None]:
    """Return what the merchant's records say about this buyer, and the merchant's override for them.

    History and open exposure come from the buyer's receivables (matched on e-mail or billing address);
    velocity counts earlier checkouts (by cart), other names and other addresses sharing each identity key.
    """
    velocity_kinds = tuple(kind for kind in VELOCITY_KINDS if getattr(keys, kind))
    # Shipping to the billing address (most checkouts) links the same receivables twice: read them once.
    history_kinds = tuple(
        kind
        for kind in HISTORY_KINDS
        if getattr(keys, kind) and not (kind == "shipping_address" and keys.shipping_address == keys.address)
    )
    override_kinds = tuple(kind for kind in OVERRIDE_KINDS if getattr(keys, kind))
    params: dict[str, Any] = {
        "merchant_id": merchant_id,
        "today": now.date(),
        "month_ago": now - MONTH,
        "day_ago": now - DAY,
    }
    for kind in {*velocity_kinds, *history_kinds, *override_kinds}:
        params[f"{kind}_key"] = getattr(keys, kind)
    statement = _prepared_context(connection.dialect.name, velocity_kinds, history_kinds, override_kinds)
    rows = statement.rows(connection, params)
    standing = rows[0]
    context = BuyerContext(
        previous_orders=standing[_PREVIOUS],
        open_orders=standing[_OPEN],
        paid_orders=standing[_PAID],
        open_exposure=Decimal(standing[_EXPOSURE]).quantize(CENT),
        unpaid_orders=standing[_UNPAID],
        dunned_orders=standing[_DUNNED],
        handed_over_orders=standing[_HANDED_OVER],
        velocity=_velocity_counts(keys, velocity_kinds, rows) if velocity_kinds else {},
    )
    return context, standing[_OVERRIDE]


def _velocity_counts(
    keys: IdentityKeys, kinds: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> dict[str, VelocityCounts]:
    seen: dict[int, tuple[set[str], set[str], set[str], set[str], set[str]]] = {}
    for row in rows:
        kind = row[_KIND]
        if kind is None:  # the standing without any velocity row
            continue
        sets = seen.get(kind)
        if sets is None:
            sets = seen[kind] = (set(), set(), set(), set(), set())
        recent, month, names, addresses, placed = sets
        checkout = row[_CHECKOUT]
        month.add(checkout)
        if row[_RECENT]:
            recent.add(checkout)
            if row[_PLACED]:
                placed.add(checkout)
        name_key, address_key = row[_NAME_KEY], row[_ADDRESS_KEY]
        if name_key and name_key != keys.name:
            names.add(name_key)
        if address_key and address_key != keys.address:
            addresses.add(address_key)
    return {
        kinds[kind]: VelocityCounts(len(recent), len(month), len(names), len(addresses), len(placed))
        for kind, (recent, month, names, addresses, placed) in seen.items()
    }


# -- overrides -----------------------------------------------------------------------------------------------


def override_keys(identity: dict[str, Any]) -> dict[str, str]:
    """Hash the identities a merchant names in an override (e-mail, phone, name with billing address)."""
    secret = current_application().config["CLAIMBRIDGE_IDENTITY_KEY"]
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
    keys = identity_keys(check, current_application().config["CLAIMBRIDGE_IDENTITY_KEY"])
    connection = connection or db.session.connection()
    context, override_mode = buyer_context(connection, merchant_id, keys, now)
    decision = evaluate(check, context, policy, override=override_mode)
    if should_call_bureau(check, policy, decision=decision, override=override_mode):
        bureau_result = _bureau_result(connection, merchant_id, check, keys, policy, now)
        if bureau_result is not None:
            decision = evaluate(check, context, policy, override=override_mode, bureau_result=bureau_result)
    reasons = [{"code": str(r.code), "weight": r.weight, "params": dict(r.params)} for r in decision.reasons]
    warnings = [{"code": str(w.code), "field": w.field, "params": dict(w.params)} for w in decision.warnings]
    offered_methods = list(check.payment_methods)
    hidden_methods = list(decision.hidden_methods)
    bureau = _bureau_summary(decision.bureau)
    # The documents go to the INSERT as the text they are stored as (_INSERT_CHECK), each serialised once.
    reasons_text = json.dumps(reasons, default=str)
    warnings_text = json.dumps(warnings, default=str)
    values = {
        "id": str(uuid.uuid4()),
        "merchant_id": merchant_id,
        "reference": check.reference or None,
        "amount": check.amount,
        "currency": check.currency,
        "decision": decision.action.value,
        "score": decision.score,
        "rule": decision.rule.value,
        "reasons": reasons_text,
        "warnings": warnings_text,
        "offered_methods": json.dumps(offered_methods),
        "hidden_methods": json.dumps(hidden_methods),
        **{f"{kind}_key": getattr(keys, kind) or None for kind in IDENTITY_KINDS},
        "bureau": None if bureau is None else json.dumps(bureau),
        # The body as parsed from JSON holds JSON types only, which json.dumps writes without default=str; the
        # validated payload (of a caller without the body) has Decimals and dates, stored as strings.
        "raw_input": json.dumps(raw_input) if raw_input is not None else json.dumps(payload, default=str),
        "created_at": now,
        "expires_at": now + CHECK_VALIDITY,
    }
    values["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    _INSERT_CHECK.execute(connection, values)
    # What a JSON column gives back: Decimals, dates and other non-JSON scalars of the params as strings.
    reasons = json.loads(reasons_text)
    count_risk_decision(values["decision"], [reason["code"] for reason in reasons])
    return StoredCheck(
        id=values["id"],
        reference=values["reference"],
        decision=values["decision"],
        score=values["score"],
        rule=values["rule"],
        reasons=reasons,
        warnings=json.loads(warnings_text),
        offered_methods=offered_methods,
        hidden_methods=hidden_methods,
        bureau=bureau,
        created_at=now,
        expires_at=values["expires_at"],
    )


# Every column is given a value, its default included (a missing one is refused, not stored as NULL); the
# documents as their JSON text, which SQLite stores as the column's conversion (json.dumps) would write it.
_INSERT_CHECK = PreparedStatement(
    sa.insert(RiskCheck.__table__),
    column_keys=RiskCheck.__table__.c.keys(),
    documents_as_text=[column.key for column in RiskCheck.__table__.c if isinstance(column.type, sa.JSON)],
)


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
