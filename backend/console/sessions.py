"""Console sessions: one-time links minted for a merchant's user, and the signed token every page carries.

The console never sets a cookie: inside a shop admin it runs in a cross-site iframe, where browsers block or
partition third-party cookies. As the Shopware admin page always did, the session is a signed token (Flask's
secret key, itsdangerous) that each page puts into its links (``?session_token=``) and forms (a hidden field
or the ``X-ClaimBridge-Session`` header for scripts). A forged, expired or foreign token is refused, so every
post is CSRF-safe; the token names the merchant, the acting user and the language, so every query is scoped
to that merchant and every decision records the user. Tokens are renewed on every page (30 minutes idle) up
to ``MAX_SESSION_AGE`` after the user entered.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.audit.services import record_event
from backend.console.models import ConsoleLink, ConsoleSessionNaming
from backend.crypto import hash_secret, new_secret
from backend.errors import ConflictError, ForbiddenError, UnauthorizedError
from backend.extensions import db, utcnow
from backend.merchants.models import Merchant, ShopConnection
from backend.merchants.services import get_merchant

LINK_LIFETIME = timedelta(minutes=5)
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_SESSION_AGE = timedelta(hours=8)
SESSION_SALT = "claimbridge.console-session"
SESSION_FIELD = "session_token"
SESSION_HEADER = "X-ClaimBridge-Session"
ENTER_PATH = "/console/enter"
LINK_TOKEN_PARAMETER = "token"  # noqa: S105 (the name of a query parameter)
# How a user reached the console: through the Shopware Administration's signed iframe, or a one-time link.
CHANNEL_SHOPWARE = "shopware"
CHANNEL_LINK = "link"
USED_LINK_RETENTION = timedelta(days=7)


class InvalidConsoleSessionError(UnauthorizedError):
    code = "invalid_session"


class InvalidConsoleLinkError(UnauthorizedError):
    code = "invalid_link"


def language_for(locale: str | None) -> str:
    """Return "de" for a German locale (``de-DE``, ``de_AT`` …) and "en" for every other."""
    if locale and locale.replace("_", "-").split("-", 1)[0].lower() == "de":
        return "de"
    return "en"


@dataclass(frozen=True)
class ConsoleSession:
    """A verified console session: whose data it shows, who acts, in which language, reached how."""

    merchant_id: int
    user_name: str
    language: str
    channel: str
    started_at: datetime
    connection_id: int | None = None
    # Shopware: the id of the Administration user the browser named (None until it did; see name_shopware_user).
    shop_user_id: str | None = None
    # Shopware: the origin the Administration ran on when it opened the signed module URL (its Referer), when
    # the merchant confirmed it for the shop: it may frame this session's pages besides the shop URLs.
    frame_origin: str | None = None
    # A random key all tokens of this session share: naming its user is recorded against it (ConsoleSessionNaming).
    key: str = ""
    token: str = ""

    @property
    def actor(self) -> str:
        """Name the acting user for audit trails and decisions (at most 200 characters)."""
        via = "Shopware Administration" if self.channel == CHANNEL_SHOPWARE else "console link"
        return f"{self.user_name[:150]} (console, {via})"

    @property
    def in_shopware(self) -> bool:
        return self.channel == CHANNEL_SHOPWARE

    @property
    def awaits_shop_user(self) -> bool:
        """Tell whether this is a Shopware session whose Administration user has not been named yet."""
        return self.in_shopware and self.shop_user_id is None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SESSION_SALT)


def issue_session(session: ConsoleSession) -> ConsoleSession:
    """Return the session with a freshly signed token (renewing its idle timeout)."""
    payload = {
        "m": session.merchant_id,
        "u": session.user_name,
        "l": session.language,
        "c": session.channel,
        "s": int(session.started_at.timestamp()),
        "n": session.connection_id,
        "i": session.shop_user_id,
        "a": session.frame_origin,
        "k": session.key,
    }
    return replace(session, token=_serializer().dumps(payload))


def start_session(
    merchant_id: int,
    *,
    user_name: str,
    language: str,
    channel: str,
    connection_id: int | None = None,
    frame_origin: str | None = None,
    shop_user_id: str | None = None,
) -> ConsoleSession:
    """Start a console session for a user of the merchant, now (``frame_origin``, ``shop_user_id``: see
    ConsoleSession)."""
    return issue_session(
        ConsoleSession(
            merchant_id=merchant_id,
            user_name=user_name,
            language=language if language in ("de", "en") else "en",
            channel=channel,
            started_at=utcnow().replace(microsecond=0),
            connection_id=connection_id,
            frame_origin=origin_of(frame_origin),
            shop_user_id=shop_user_id,
            key=new_secret(12),
        )
    )


def verify_session(token: str | None, *, now: datetime | None = None) -> ConsoleSession:
    """Return the session a token carries; raise InvalidConsoleSessionError if missing, forged or void."""
    if not token:
        raise InvalidConsoleSessionError("the console session is missing; open the console again")
    try:
        payload = _serializer().loads(token, max_age=int(IDLE_TIMEOUT.total_seconds()))
    except SignatureExpired as error:
        raise InvalidConsoleSessionError("the console session expired; open the console again") from error
    except BadSignature as error:
        raise InvalidConsoleSessionError("the console session token is invalid") from error
    try:
        session = ConsoleSession(
            merchant_id=int(payload["m"]),
            user_name=str(payload["u"]),
            language=str(payload["l"]),
            channel=str(payload["c"]),
            started_at=datetime.fromtimestamp(int(payload["s"]), UTC),
            connection_id=None if payload.get("n") is None else int(payload["n"]),
            shop_user_id=None if payload.get("i") is None else str(payload["i"]),
            frame_origin=origin_of(payload.get("a")),
            key=str(payload["k"]),
            token=token,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidConsoleSessionError("the console session token is invalid") from error
    if (now or utcnow()) - session.started_at > MAX_SESSION_AGE:
        raise InvalidConsoleSessionError("the console session ended; open the console again")
    if db.session.get(Merchant, session.merchant_id) is None:
        raise InvalidConsoleSessionError("the merchant of this console session no longer exists")
    if session.connection_id is not None:
        connection = db.session.get(ShopConnection, session.connection_id)
        if connection is None or connection.merchant_id != session.merchant_id:
            raise InvalidConsoleSessionError("the shop of this console session is no longer connected")
    return session


class ShopUserAlreadyNamedError(ConflictError):
    code = "user_already_named"


def name_shopware_user(
    session: ConsoleSession, *, user_id: str, first_name: str, last_name: str, username: str
) -> ConsoleSession:
    """Put the Administration user the browser named into a Shopware session (once) and record who it was.

    The Administration answers the Admin Extension SDK's ``contextUserInformation`` in the browser; nothing
    signs that answer, so the name is what the session's browser says (see README, "Who acted"). Once is
    recorded on the server against the session's key, so a token from before the naming cannot name it again.
    """
    if not session.in_shopware:
        raise ForbiddenError("only a session opened in the Shopware Administration names its user this way")
    if session.shop_user_id is not None:
        raise ShopUserAlreadyNamedError("this session's user is named already")
    try:
        with db.session.begin_nested():
            db.session.add(
                ConsoleSessionNaming(
                    merchant_id=session.merchant_id, session_key=session.key, shop_user_id=user_id
                )
            )
    except sa.exc.IntegrityError as error:
        raise ShopUserAlreadyNamedError("this session's user is named already") from error
    full_name = " ".join(part for part in (first_name.strip(), last_name.strip()) if part)
    login = username.strip()
    name = f"{full_name} ({login})" if full_name and login else full_name or login
    named = issue_session(replace(session, user_name=name[:150], shop_user_id=user_id))
    record_event(
        "console_session.user_named",
        actor=named.actor,
        merchant_id=session.merchant_id,
        target_type="shop_connection",
        target_id=session.connection_id,
        details={"shop_user_id": user_id, "username": login, "before": session.user_name},
    )
    return named


def origin_of(url: str | None) -> str | None:
    """Return ``scheme://host[:port]`` of an http(s) URL, None for anything else (never a wildcard)."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or "*" in host or parts.username or parts.password:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def frame_origins(
    merchant_id: int, session: ConsoleSession | None = None, *, admin_origin: str | None = None
) -> list[str]:
    """Return the origins allowed to frame the merchant's console: its shops, and the session's Administration.

    ``admin_origin`` is the Administration origin the merchant confirmed for the session's shop, now: the
    session's own counts only while it is that one (taking the address back ends it for running sessions).
    """
    urls = db.session.scalars(
        sa.select(ShopConnection.shop_url).where(
            ShopConnection.merchant_id == merchant_id, ShopConnection.status != "disabled"
        )
    )
    origins = {origin for origin in map(origin_of, urls) if origin}
    if session is not None and session.frame_origin and session.frame_origin == admin_origin:
        origins.add(session.frame_origin)
    return sorted(origins)


# -- one-time links ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewConsoleLink:
    """A minted link; its URL holds the only copy of the token."""

    url: str
    expires_at: datetime


def create_console_link(merchant_id: int, *, user_name: str, locale: str, created_by: str) -> NewConsoleLink:
    """Mint a single-use link into the merchant's console for one user, valid for ``LINK_LIFETIME``."""
    get_merchant(merchant_id)
    token = new_secret(32)
    now = utcnow()
    link = ConsoleLink(
        merchant_id=merchant_id,
        token_hash=hash_secret(token),
        user_name=user_name.strip()[:200],
        locale=locale[:35],
        created_by=created_by[:200],
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    db.session.add(link)
    db.session.flush()
    record_event(
        "console_link.created",
        actor=created_by,
        merchant_id=merchant_id,
        target_type="console_link",
        target_id=link.id,
        details={"user": link.user_name, "expires_at": link.expires_at.isoformat()},
    )
    base = current_app.config["CLAIMBRIDGE_PUBLIC_URL"].rstrip("/")
    return NewConsoleLink(
        url=f"{base}{ENTER_PATH}?{LINK_TOKEN_PARAMETER}={token}", expires_at=link.expires_at
    )


def redeem_console_link(token: str | None) -> ConsoleSession:
    """Use a one-time link (exactly once, before it expires) and start the session it grants."""
    if not token or len(token) > 200:
        raise InvalidConsoleLinkError("this console link is not valid")
    digest = hash_secret(token)
    link = db.session.scalar(sa.select(ConsoleLink).where(ConsoleLink.token_hash == digest))
    # The hash lookup is an index read; compare again in constant time so a near miss tells nothing.
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise InvalidConsoleLinkError("this console link is not valid")
    now = utcnow()
    # One UPDATE decides who uses the link: two tabs opening it at once cannot both get a session.
    claimed = db.session.execute(
        sa.update(ConsoleLink)
        .where(ConsoleLink.id == link.id, ConsoleLink.used_at.is_(None), ConsoleLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvalidConsoleLinkError(
            "this console link was already used or has expired; ask for a new one",
            details={"language": language_for(link.locale)},
        )
    record_event(
        "console_link.used",
        actor=link.user_name,
        merchant_id=link.merchant_id,
        target_type="console_link",
        target_id=link.id,
    )
    return start_session(
        link.merchant_id, user_name=link.user_name, language=language_for(link.locale), channel=CHANNEL_LINK
    )


def prune_console_links(now: datetime | None = None) -> str:
    """Delete links that expired or were used more than a week ago, and namings of sessions that ended."""
    moment = now or utcnow()
    deleted = db.session.execute(
        sa.delete(ConsoleLink).where(ConsoleLink.expires_at < moment - USED_LINK_RETENTION)
    ).rowcount
    # A session lives at most MAX_SESSION_AGE, so none of its tokens can ask to be named after that.
    namings = db.session.execute(
        sa.delete(ConsoleSessionNaming).where(ConsoleSessionNaming.named_at < moment - MAX_SESSION_AGE)
    ).rowcount
    return f"{deleted or 0} console links, {namings or 0} session namings"
