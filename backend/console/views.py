"""Console pages and the console-session API: parse, call the areas' services, render (or dump).

Every page and post needs a valid console session token (see ``sessions``); it names the merchant every query
is scoped to and the user recorded with every decision. Posts answer with a redirect to the page they came
from (post/redirect/get), or re-render the page with the problem and a 4xx status.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Response, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from backend.audit import services as audit_services
from backend.auth.server import current_client_id, current_merchant_id, require_oauth
from backend.boundary import raw_body
from backend.console import services, sessions
from backend.console.blueprint import blp, bp
from backend.console.forms import error_map
from backend.console.schemas import (
    ConsoleSessionRequestSchema,
    ConsoleSessionSchema,
    HandoverDecisionFormSchema,
    HandoverListArgsSchema,
    ReceivableListArgsSchema,
    ShopUserSchema,
)
from backend.console.sessions import ConsoleSession
from backend.console.settings_texts import field_text
from backend.console.texts import (
    TEXTS,
    audit_label,
    format_date,
    format_details,
    format_money,
    format_percent,
    say_problem,
)
from backend.dates import berlin_today
from backend.dunning import test_notice
from backend.dunning.law import DUE_DATE_BASES, LANDS
from backend.dunning.merchant_settings import NOTICE_LANGUAGES
from backend.dunning.schedule import Channel
from backend.errors import AppError, ConflictError, ForbiddenError, NotFoundError, UserValueError
from backend.extensions import db
from backend.handovers import decisions
from backend.handovers.models import AGENCY_KINDS, HANDOVER_STATUSES
from backend.merchants.models import ShopConnection
from backend.merchants.services import get_merchant
from backend.payments import services as payment_services
from backend.payments.views import STATEMENT_MAX_BYTES
from backend.receivables import services as receivable_services
from backend.receivables.states import STATES
from backend.risk.messages import pick_language
from backend.shop_outbox import services as shop_outbox_services
from backend.shopware import services as shopware_services
from backend.woocommerce.services import connection_problems, webhook_health

PER_PAGE = 25
TABS = ("overview", "handovers", "receivables", "payments", "settings", "audit")
_DECISION_NOTICES = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}


# -- the session API -----------------------------------------------------------------------------------------


@blp.route("/console-sessions", methods=["POST"])
@blp.response(201, ConsoleSessionSchema)
@require_oauth("console:session")
@blp.arguments(ConsoleSessionRequestSchema)
def create_console_session(body: dict[str, Any]) -> dict[str, Any]:
    """Mint a one-time, short-lived console URL for a user of the merchant (embed it at once)."""
    link = sessions.create_console_link(
        current_merchant_id(),
        user_name=body["user"]["name"],
        locale=body["user"]["locale"],
        created_by=f"client:{current_client_id()}",
    )
    db.session.commit()
    return {"url": link.url, "expires_at": link.expires_at}


# -- rendering -----------------------------------------------------------------------------------------------


def _current_session() -> ConsoleSession:
    if request.method == "GET":
        token = request.args.get(sessions.SESSION_FIELD)
    else:
        token = request.headers.get(sessions.SESSION_HEADER) or request.form.get(sessions.SESSION_FIELD)
    return sessions.verify_session(token)


def _secure(response: Response, nonce: str, frame_origins: list[str]) -> Response:
    ancestors = " ".join(frame_origins) or "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
        f"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
    # Page URLs carry the session token: they must not leak through Referer or caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _href_for(session: ConsoleSession | None) -> Any:
    def href(endpoint: str, **params: Any) -> str:
        kept = {name: value for name, value in params.items() if value not in (None, "")}
        if session is not None:
            kept[sessions.SESSION_FIELD] = session.token
        return url_for(endpoint, **kept)

    return href


def _address(address: Mapping[str, Any] | None) -> str:
    if not address:
        return "—"
    street = " ".join(part for part in (address.get("street"), address.get("house_number")) if part)
    town = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    return ", ".join(part for part in (address.get("company"), street, town, address.get("country")) if part)


def _page(
    session: ConsoleSession | None,
    template: str,
    *,
    tab: str | None,
    title: str,
    language: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render a console page for the session (renewing its token) with the console's security headers."""
    session = sessions.issue_session(session) if session is not None else None
    lang = session.language if session is not None else (language or "en")
    texts = TEXTS[lang]
    nonce = secrets.token_urlsafe(16)
    notice_key = request.args.get("notice") if request.method == "GET" else None
    notice = texts["notice"].get(notice_key) if notice_key else None
    html = render_template(
        f"console/{template}",
        lang=lang,
        t=texts,
        tab=tab,
        tabs=TABS,
        title=title,
        session=session,
        session_field=sessions.SESSION_FIELD,
        merchant_name=get_merchant(session.merchant_id).name if session is not None else "",
        nonce=nonce,
        href=_href_for(session),
        money=lambda amount, currency: format_money(amount, currency, lang),
        day=lambda value: format_date(value, lang),
        percent=lambda value: format_percent(value, lang),
        event_label=lambda kind: texts["events"].get(kind, kind.replace("_", " ")),
        event_details=format_details,
        address=_address,
        say=lambda message: say_problem(message, lang),
        notice=notice.format(count=request.args.get("count", "")) if notice else None,
        **context,
    )
    origins = (
        sessions.frame_origins(
            session.merchant_id,
            session,
            admin_origin=shopware_services.admin_origin_of(session.connection_id)
            if session.frame_origin
            else None,
        )
        if session is not None
        else []
    )
    return _secure(Response(html, status=status, mimetype="text/html"), nonce, origins)


def _back_to(session: ConsoleSession, endpoint: str, **params: Any) -> Response:
    """Redirect (303) to a console page, carrying the renewed session."""
    renewed = sessions.issue_session(session)
    response = redirect(_href_for(renewed)(endpoint, **params), code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(AppError)
def _error_page(error: AppError) -> Response:
    """Answer a console error as a page a person can read (the JSON API keeps its JSON errors)."""
    session = None
    if not isinstance(error, sessions.InvalidConsoleSessionError | sessions.InvalidConsoleLinkError):
        try:
            session = _current_session()
        except AppError:
            session = None
    language = (
        session.language
        if session is not None
        else (error.details or {}).get("language")
        if isinstance(error.details, dict)
        else None
    ) or pick_language(request.headers.get("Accept-Language"))
    texts = TEXTS[language]
    if isinstance(error, sessions.InvalidConsoleLinkError):
        message = texts["link_used"]
    elif isinstance(error, sessions.InvalidConsoleSessionError):
        message = texts["session_invalid"]
    elif isinstance(error, NotFoundError):
        message = texts["not_found"]
    else:
        message = error.message
    return _page(
        session,
        "error.html",
        tab=None,
        title=texts["error_title"],
        language=language,
        status=error.http_status,
        message=message,
    )


# -- entering ------------------------------------------------------------------------------------------------


@bp.get("/enter")
def enter() -> Response:
    """Use a one-time console link: start the session it grants and open the overview.

    ``open=settings`` opens the settings page's risk policy instead (a shop plugin's "change in the console").
    """
    session = sessions.redeem_console_link(request.args.get(sessions.LINK_TOKEN_PARAMETER))
    db.session.commit()
    if request.args.get("open") == "settings":
        return _back_to(session, "console.settings", _anchor="section-policy")
    return _back_to(session, "console.overview")


def entry_url(session: ConsoleSession, order_ids: list[str] | None = None) -> str:
    """Return where a newly started session opens: the overview, or the handovers of the selected orders."""
    if order_ids:
        return _href_for(session)("console.handovers", orders=",".join(order_ids))
    return _href_for(session)("console.overview")


@bp.post("/session/user")
def name_session_user() -> Response:
    """Name the Shopware Administration user of this session (once), from what the Admin Extension SDK said."""
    session = _current_session()
    user = ShopUserSchema().load(request.get_json(silent=True) or {})
    named = sessions.name_shopware_user(
        session,
        user_id=user["id"],
        first_name=user["firstName"],
        last_name=user["lastName"],
        username=user["username"],
    )
    db.session.commit()
    response = jsonify({"session_token": named.token, "user_name": named.user_name})
    response.headers["Cache-Control"] = "no-store"
    return response


# -- overview ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionHealth:
    """A shop connection with its webhooks as the shop showed them last and what keeps it from working fully."""

    connection: ShopConnection
    webhooks: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    webhooks_admin_url: str | None


def _connection_health(connection: ShopConnection) -> ConnectionHealth:
    woocommerce = connection.platform == "woocommerce"
    return ConnectionHealth(
        connection=connection,
        webhooks=webhook_health(connection) if woocommerce else [],
        problems=connection_problems(connection),
        # WooCommerce → Settings → Advanced → Webhooks, where the merchant sees the same webhooks.
        webhooks_admin_url=(
            f"{connection.shop_url.rstrip('/')}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=webhooks"
            if woocommerce
            else None
        ),
    )


@bp.get("/")
def overview() -> Response:
    """What needs the merchant now, with links to each, and the health of the shop connections."""
    return _overview_with(_current_session())


def _reattach_context(
    session: ConsoleSession, *, code: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """Say what the overview offers for moving an uninstalled Shopware shop's data to a new registration."""
    return {
        "retired_shop": shopware_services.retired_shop_of(session.merchant_id),
        # Only a Shopware session of a shop without receivables of its own may take over kept data.
        "may_reattach": session.in_shopware
        and session.connection_id is not None
        and not shopware_services.has_receivables(session.merchant_id),
        "reattach_code": code,
        "reattach_error": error,
    }


@bp.post("/shopware/reattach-code")
def create_reattach_code() -> Response:
    """Show a one-time code that lets a new registration of the uninstalled shop take over its data."""
    session = _current_session()
    code = shopware_services.issue_reattach_code(session.merchant_id, actor=session.actor)
    db.session.commit()
    return _overview_with(session, code=code)


@bp.post("/shopware/reattach")
def reattach_shop() -> Response:
    """Take over an uninstalled shop's data with the code shown in its console; continue in that console."""
    session = _current_session()
    code = request.form.get("code", "")
    if not session.in_shopware or session.connection_id is None:
        raise ForbiddenError(
            "only a console opened in the Shopware Administration can take over a shop's data"
        )
    try:
        connection = shopware_services.reattach_retired_shop(
            session.merchant_id, session.connection_id, code[:200], actor=session.actor
        )
    except (shopware_services.InvalidReattachCodeError, ConflictError) as error:
        db.session.rollback()
        texts = TEXTS[session.language]
        message = (
            texts["reattach_invalid"]
            if isinstance(error, shopware_services.InvalidReattachCodeError)
            else error.message
        )
        return _overview_with(session, error=message, status=error.http_status)
    db.session.commit()
    moved = sessions.start_session(
        connection.merchant_id,
        user_name=session.user_name,
        language=session.language,
        channel=session.channel,
        connection_id=connection.id,
        frame_origin=session.frame_origin,
        shop_user_id=session.shop_user_id,
    )
    return _back_to(moved, "console.overview", notice="reattached")


def _overview_with(
    session: ConsoleSession, *, status: int = 200, problem: str | None = None, **reattach: Any
) -> Response:
    texts = TEXTS[session.language]
    health = [_connection_health(c) for c in services.connections_of(session.merchant_id)]
    items = services.attention_items(session.merchant_id)
    troubled = sum(1 for entry in health if entry.problems)
    if troubled:
        items.append(
            services.AttentionItem(
                "connection_problems", troubled, "console.overview", {"_anchor": "connections"}
            )
        )
    return _page(
        session,
        "overview.html",
        tab="overview",
        title=texts["tabs"]["overview"],
        status=status,
        items=items,
        connections=health,
        shop_updates=shop_outbox_services.parked_items(session.merchant_id, limit=20),
        error=problem,
        problem_text=lambda problem, part: _problem_text(texts, problem, part),
        **_reattach_context(session, **reattach),
    )


@bp.post("/shop-outbox/<string:outbox>/<int:item_id>/retry")
def retry_parked_update(outbox: str, item_id: int) -> Response:
    """Send a parked write to the shop again, with a fresh count of tries (the API's retry, audited alike)."""
    return _handle_parked(shop_outbox_services.retry_parked, outbox, item_id, "parked_retried")


@bp.post("/shop-outbox/<string:outbox>/<int:item_id>/discard")
def discard_parked_update(outbox: str, item_id: int) -> Response:
    """Give a parked write to the shop up for good; the audit trail keeps what it was."""
    return _handle_parked(shop_outbox_services.discard_parked, outbox, item_id, "parked_discarded")


def _handle_parked(action: Any, outbox: str, item_id: int, notice: str) -> Response:
    session = _current_session()
    try:
        action(outbox, item_id, merchant_id=session.merchant_id, actor=session.actor)
    except ConflictError as error:
        db.session.rollback()
        return _overview_with(session, problem=error.message, status=error.http_status)
    db.session.commit()
    return _back_to(session, "console.overview", notice=notice, _anchor="shop-updates")


def _problem_text(texts: Mapping[str, Any], problem: Mapping[str, Any], part: str) -> str:
    """Say a connection problem's message or fix in the page's language (the API's English as a fallback)."""
    template = texts["problems"].get(problem["code"], {}).get(part)
    if template is None:
        return str(problem.get(part, ""))
    params = dict(problem.get("params") or {})
    params["topics"] = ", ".join(texts["webhook_topics"].get(t, t) for t in params.get("topics", []))
    text = template.format_map(defaultdict(str, params))
    if part == "message":
        causes = [
            texts["problems"]["causes"][cause].format(**params)
            for cause in ("port", "private_host")
            if cause in params
        ]
        text = " ".join([text, *causes])
    return text


# -- handovers -----------------------------------------------------------------------------------------------


def _list_args(source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        args = HandoverListArgsSchema().load(
            {key: source.get(key) for key in ("status", "q", "orders", "page") if source.get(key)}
        )
    except ValidationError:
        args = HandoverListArgsSchema().load({})
    if args["status"] not in HANDOVER_STATUSES:
        args["status"] = None
    return args


def _handover_list(
    session: ConsoleSession, args: dict[str, Any], *, status: int = 200, error: str | None = None
):
    texts = TEXTS[session.language]
    selection = None
    if args["orders"] and session.connection_id is not None:
        order_ids = [part.strip().lower() for part in args["orders"].split(",") if part.strip()][:100]
        selection = services.handover_ids_of_orders(session.merchant_id, session.connection_id, order_ids)
    if selection is not None:
        rows = [decisions.get_handover(session.merchant_id, handover_id) for handover_id in selection]
        total, page = len(rows), 1
    else:
        rows, total = decisions.list_handovers(
            session.merchant_id, status=args["status"], search=args["q"], page=args["page"], per_page=PER_PAGE
        )
        page = args["page"]
    filters = {"status": args["status"], "q": args["q"], "orders": args["orders"]}
    listed = services.handover_rows(rows)
    return _page(
        session,
        "handovers.html",
        tab="handovers",
        title=texts["tabs"]["handovers"],
        status=status,
        error=error,
        rows=listed,
        any_proposed=any(row.handover.status == "proposed" for row in listed),
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PER_PAGE)),
        filters=filters,
        return_params={name: value for name, value in {**filters, "page": page}.items() if value},
        statuses=HANDOVER_STATUSES,
        selection=selection is not None,
    )


@bp.get("/handovers", endpoint="handovers")
def handovers_page() -> Response:
    """Proposals and cases: filter by status, search by order number or buyer, one page at a time."""
    return _handover_list(_current_session(), _list_args(request.args))


@bp.post("/handovers/decide")
def decide_handovers() -> Response:
    """Approve or reject the ticked proposals (all or none); rejecting needs a reason."""
    session = _current_session()
    texts = TEXTS[session.language]
    returning = _list_args({key.removeprefix("return_"): value for key, value in request.form.items()})
    try:
        form = HandoverDecisionFormSchema().load(
            {
                "decision": request.form.get("decision"),
                "ids": request.form.getlist("ids"),
                "reason": request.form.get("reason", ""),
            }
        )
    except ValidationError:
        return _handover_list(session, returning, status=422, error=texts["notice"]["nothing_selected"])
    problem = _decision_problem(form, bulk=True)
    if problem:
        return _handover_list(session, returning, status=422, error=texts["notice"][problem])
    try:
        decided = decisions.decide_many(
            session.merchant_id,
            form["decision"],
            form["ids"],
            actor=session.actor,
            note=form["reason"].strip() or None,
        )
    except AppError as error:
        db.session.rollback()
        return _handover_list(session, returning, status=error.http_status, error=error.message)
    db.session.commit()
    params = {name: returning[name] for name in ("status", "q", "orders") if returning[name]}
    return _back_to(
        session, "console.handovers", notice=_DECISION_NOTICES[form["decision"]], count=len(decided), **params
    )


def _decision_problem(form: dict[str, Any], *, bulk: bool) -> str | None:
    if bulk and (form["decision"] == "withdraw" or not form["ids"]):
        return "nothing_selected"
    if form["decision"] == "reject" and not form["reason"].strip():
        return "reason_required"
    return None


def _handover_page(session: ConsoleSession, handover_id: int, *, status: int = 200, error: str | None = None):
    texts = TEXTS[session.language]
    detail = services.handover_detail(session.merchant_id, handover_id)
    return _page(
        session,
        "handover.html",
        tab="handovers",
        title=f"{texts['handover']} {detail.receivable.number}",
        status=status,
        error=error,
        detail=detail,
    )


@bp.get("/handovers/<int:handover_id>")
def handover(handover_id: int) -> Response:
    """One handover with the order, notices, today's claim and its legal basis, blockers and the case."""
    return _handover_page(_current_session(), handover_id)


@bp.post("/handovers/<int:handover_id>/decide")
def decide_handover(handover_id: int) -> Response:
    """Approve, reject (with a reason) or withdraw one handover."""
    session = _current_session()
    texts = TEXTS[session.language]
    try:
        form = HandoverDecisionFormSchema().load(
            {"decision": request.form.get("decision"), "reason": request.form.get("reason", "")}
        )
    except ValidationError:
        return _handover_page(session, handover_id, status=422, error=texts["notice"]["reason_required"])
    problem = _decision_problem(form, bulk=False)
    if problem:
        return _handover_page(session, handover_id, status=422, error=texts["notice"][problem])
    note = form["reason"].strip() or None
    try:
        if form["decision"] == "withdraw":
            decisions.withdraw_handover(session.merchant_id, handover_id, actor=session.actor, note=note)
        else:
            decisions.decide_handover(
                session.merchant_id, handover_id, form["decision"], actor=session.actor, note=note
            )
    except AppError as error:
        db.session.rollback()
        if isinstance(error, NotFoundError):
            raise
        return _handover_page(session, handover_id, status=error.http_status, error=error.message)
    db.session.commit()
    return _back_to(
        session,
        "console.handover",
        handover_id=handover_id,
        notice=_DECISION_NOTICES[form["decision"]],
        count=1,
    )


# -- receivables ---------------------------------------------------------------------------------------------


def _receivable_args(source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return ReceivableListArgsSchema().load(
            {
                key: source.get(key)
                for key in ("state", "aging", "overdue", "number", "page")
                if source.get(key)
            }
        )
    except ValidationError:
        return ReceivableListArgsSchema().load({})


@bp.get("/receivables", endpoint="receivables")
def receivables_page() -> Response:
    """Receivables by state, aging bucket or number (most overdue first), with a count per aging bucket."""
    session = _current_session()
    texts = TEXTS[session.language]
    args = _receivable_args(request.args)
    today = berlin_today()
    query = receivable_services.ReceivableQuery(
        states=(args["state"],) if args["state"] else (),
        overdue=True if args["overdue"] else None,
        aging=args["aging"],
        number=args["number"],
        page=args["page"],
        per_page=PER_PAGE,
    )
    rows, total = receivable_services.list_receivables(session.merchant_id, query, today)
    buckets = {
        bucket: receivable_services.list_receivables(
            session.merchant_id, receivable_services.ReceivableQuery(aging=bucket, per_page=1), today
        )[1]
        for bucket in receivable_services.AGING_BUCKETS
    }
    filters = {name: args[name] for name in ("state", "aging", "number")}
    filters["overdue"] = "1" if args["overdue"] else None
    return _page(
        session,
        "receivables.html",
        tab="receivables",
        title=texts["tabs"]["receivables"],
        rows=[(row, decisions.buyer_name(row), max(0, (today - row.due_date).days)) for row in rows],
        total=total,
        page=args["page"],
        pages=max(1, math.ceil(total / PER_PAGE)),
        filters=filters,
        buckets=buckets,
        states=STATES,
    )


def _receivable_page(
    session: ConsoleSession, receivable_id: int, *, status: int = 200, error: str | None = None
):
    texts = TEXTS[session.language]
    detail = services.receivable_detail(session.merchant_id, receivable_id)
    return _page(
        session,
        "receivable.html",
        tab="receivables",
        title=f"{texts['receivable']} {detail.receivable.number}",
        status=status,
        error=error,
        detail=detail,
        risk=services.risk_decision(session.merchant_id, detail.receivable.risk_check_id, session.language),
    )


@bp.get("/receivables/<int:receivable_id>")
def receivable(receivable_id: int) -> Response:
    """One receivable: facts, today's claim, notices, its timeline, and dispute or dunning-stop actions."""
    return _receivable_page(_current_session(), receivable_id)


_RECEIVABLE_ACTIONS = {
    "dispute": "disputed",
    "resolve_dispute": "dispute_resolved",
    "stop_dunning": "dunning_stopped",
    "resume_dunning": "dunning_resumed",
}


@bp.post("/receivables/<int:receivable_id>/act")
def act_on_receivable(receivable_id: int) -> Response:
    """Dispute, resolve a dispute, stop or resume dunning, with the user recorded."""
    session = _current_session()
    texts = TEXTS[session.language]
    action = request.form.get("action", "")
    text = request.form.get("text", "").strip()
    if action not in _RECEIVABLE_ACTIONS or len(text) > 500:
        return _receivable_page(session, receivable_id, status=422, error=texts["text_required"])
    if action != "resume_dunning" and not text:
        return _receivable_page(session, receivable_id, status=422, error=texts["text_required"])
    merchant_id, actor = session.merchant_id, session.actor
    try:
        if action == "dispute":
            receivable_services.dispute_receivable(merchant_id, receivable_id, reason=text, actor=actor)
        elif action == "resolve_dispute":
            receivable_services.resolve_dispute(merchant_id, receivable_id, note=text, actor=actor)
        elif action == "stop_dunning":
            receivable_services.stop_dunning(merchant_id, receivable_id, reason=text, actor=actor)
        else:
            receivable_services.resume_dunning(merchant_id, receivable_id, actor=actor)
    except AppError as error:
        db.session.rollback()
        if isinstance(error, NotFoundError):
            raise
        return _receivable_page(session, receivable_id, status=error.http_status, error=error.message)
    db.session.commit()
    return _back_to(
        session, "console.receivable", receivable_id=receivable_id, notice=_RECEIVABLE_ACTIONS[action]
    )


# -- payments ------------------------------------------------------------------------------------------------


def _payments_page(
    session: ConsoleSession,
    *,
    status: int = 200,
    error: str | None = None,
    upload_error: str | None = None,
    imported: dict[str, int] | None = None,
) -> Response:
    texts = TEXTS[session.language]
    return _page(
        session,
        "payments.html",
        tab="payments",
        title=texts["tabs"]["payments"],
        status=status,
        error=error,
        upload_error=upload_error,
        imported=texts["imported"].format(**imported) if imported else None,
        review=services.payment_match_rows(session.merchant_id, ("review",)),
        matched=services.payment_match_rows(session.merchant_id, ("auto_applied", "confirmed"), latest=50),
    )


@bp.get("/payments", endpoint="payments")
def payments_page() -> Response:
    """Statement upload, the review queue and what was matched."""
    return _payments_page(_current_session())


@bp.post("/payments/statements")
@raw_body
def upload_statement() -> Response:
    """Import a camt.053 or MT940 statement (up to 20 MiB) and show what it matched.

    The session comes with the URL (or the header), not in the form: it is checked before the body is read, so a
    stranger's 20 MiB are never read (``raw_body`` keeps the request checks from reading it first).
    """
    session = sessions.verify_session(
        request.headers.get(sessions.SESSION_HEADER) or request.args.get(sessions.SESSION_FIELD)
    )
    request.max_content_length = STATEMENT_MAX_BYTES  # body_limit's work, which the request checks skip here
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _payments_page(session, status=422, upload_error=TEXTS[session.language]["text_required"])
    try:
        data = upload.read()
    finally:
        upload.close()
    try:
        result = payment_services.import_statement(session.merchant_id, data, actor=session.actor)
    except AppError as error:
        db.session.rollback()
        details = error.details if isinstance(error.details, dict) else {}
        where = "; ".join(f"{key}: {', '.join(map(str, value))}" for key, value in details.items())
        return _payments_page(
            session, status=error.http_status, upload_error=f"{error.message} {where}".strip()
        )
    db.session.commit()
    return _payments_page(session, imported=result.to_dict())


@bp.post("/payments/matches/<int:match_id>/decide")
def decide_payment_match(match_id: int) -> Response:
    """Confirm (book) or reject a proposed match from the review queue."""
    session = _current_session()
    decision = request.form.get("decision")
    if decision not in ("confirm", "reject"):
        return _payments_page(session, status=422, error=TEXTS[session.language]["text_required"])
    decide = payment_services.confirm_match if decision == "confirm" else payment_services.reject_match
    try:
        decide(session.merchant_id, match_id, actor=session.actor)
    except AppError as error:
        db.session.rollback()
        if isinstance(error, NotFoundError):
            raise
        return _payments_page(session, status=error.http_status, error=error.message)
    db.session.commit()
    return _back_to(
        session, "console.payments", notice="confirmed" if decision == "confirm" else "match_rejected"
    )


# -- audit ---------------------------------------------------------------------------------------------------


@bp.get("/audit", endpoint="audit")
def audit_page() -> Response:
    """Who approved, rejected or changed settings, and when; newest first."""
    session = _current_session()
    texts = TEXTS[session.language]
    try:
        page = max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        page = 1
    events, total = audit_services.list_events(session.merchant_id, page=page, per_page=PER_PAGE)
    return _page(
        session,
        "audit.html",
        tab="audit",
        title=texts["tabs"]["audit"],
        events=events,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PER_PAGE)),
        action_label=lambda action: audit_label(action, session.language),
    )


# -- settings ------------------------------------------------------------------------------------------------

SETTINGS_SECTIONS = ("policy", "claims", "dunning", "handover", "creditor", "shopware")


def _settings_page(
    session: ConsoleSession,
    *,
    status: int = 200,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    posted: dict[str, Any] | None = None,
) -> Response:
    texts = TEXTS[session.language]
    view = services.settings_view(session.merchant_id, posted or {})
    return _page(
        session,
        "settings.html",
        tab="settings",
        title=texts["tabs"]["settings"],
        status=status,
        error=error,
        errors={
            pointer: [say_problem(message, session.language) for message in messages]
            for pointer, messages in (errors or {}).items()
        },
        view=view,
        field_text=lambda key: field_text(session.language, key),
        channels=[channel.value for channel in Channel],
        agencies=AGENCY_KINDS,
        notice_languages=NOTICE_LANGUAGES,
        due_date_bases=DUE_DATE_BASES,
        lands=LANDS,
        admin_addresses=[
            (connection, (posted or {}).get("shopware", {}).get(str(connection.id), origin))
            for connection, origin in shopware_services.admin_addresses(session.merchant_id)
        ],
    )


def _save_settings(
    session: ConsoleSession, section: str, *, check_only: bool = False
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Run the section's service with the posted values; return its field errors and what was posted."""
    if section == "shopware":
        return _save_admin_addresses(session)
    try:
        posted = services.save_settings(
            session.merchant_id, section, request.form, actor=session.actor, check_only=check_only
        )
    except services.SettingsRejected as rejected:
        db.session.rollback()
        return rejected.errors, rejected.posted
    return {}, posted


def _save_admin_addresses(session: ConsoleSession) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Confirm the Administration address of each of the merchant's Shopware shops, as the form says."""
    addresses = {
        connection.id: request.form.get(f"admin_address/{connection.id}", "")[:500]
        for connection, _ in shopware_services.admin_addresses(session.merchant_id)
    }
    posted = {str(key): value for key, value in addresses.items()}
    try:
        shopware_services.set_admin_addresses(session.merchant_id, addresses, actor=session.actor)
    except UserValueError as error:
        db.session.rollback()
        return error_map(error.details), posted
    return {}, posted


@bp.post("/settings/<section>")
def save_settings(section: str) -> Response:
    """Save one settings section through its area's service; problems are shown beside their fields."""
    session = _current_session()
    if section not in SETTINGS_SECTIONS:
        raise NotFoundError(f"no settings section {section!r}")
    errors, posted = _save_settings(session, section)
    if errors:
        message = TEXTS[session.language]["settings_invalid"]
        return _settings_page(session, status=422, error=message, errors=errors, posted={section: posted})
    db.session.commit()
    return _back_to(session, "console.settings", notice="saved", _anchor=f"section-{section}")


@bp.post("/settings/<section>/check")
def check_settings(section: str) -> Response:
    """Validate a section as saving would, store nothing, and answer the page with the problems shown."""
    session = _current_session()
    if section not in SETTINGS_SECTIONS:
        raise NotFoundError(f"no settings section {section!r}")
    errors, posted = _save_settings(session, section, check_only=True)
    db.session.rollback()  # a check never stores
    return _settings_page(session, errors=errors, posted={section: posted})


@bp.get("/settings", endpoint="settings")
def settings_page() -> Response:
    """Risk policy, invoice-like methods, dunning schedules, handover rules, creditor data and e-mail."""
    return _settings_page(_current_session())


@bp.post("/settings/test-notice")
def send_test_notice() -> Response:
    """Send the merchant's 1st dunning notice for a sample invoice to the address given."""
    session = _current_session()
    texts = TEXTS[session.language]
    address = request.form.get("to", "").strip()
    try:
        to = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return _settings_page(session, status=422, errors={"/to": [texts["email_invalid"]]})
    try:
        test_notice.send_test_notice(
            get_merchant(session.merchant_id), to=to, language=session.language, today=berlin_today()
        )
    except AppError as error:
        return _settings_page(session, status=error.http_status, error=error.message)
    return _back_to(
        session, "console.settings", notice="test_notice_sent", count=to, _anchor="section-creditor"
    )
