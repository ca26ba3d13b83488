"""Typed errors for every outbound connector, built in one place from a response or a transport failure.

Callers catch the class that matches what they can do about it:

- ``AuthError`` (401/403): credentials are wrong or revoked; ask the merchant to reconnect.
- ``RateLimitError`` (429): back off for ``retry_after`` seconds (``None`` when the server did not say).
- ``NotFoundError`` (404), ``ConflictError`` (409), ``ClientError`` (any other 4xx, e.g. an invalid
  state transition): the request itself is wrong; retrying will not help (except 409).
- ``ServerError`` (5xx): the remote side failed; usually transient.
- ``ConnectionError``: nothing usable came back (refused, reset, timed out). ``should_retry`` is True when
  the request certainly never reached the server, so even a non-idempotent call may be sent again.
  ``TimeoutError`` is the subclass for connect/read timeouts.
- ``UnsafeURLError``: the SSRF guard refused a URL, an address or a redirect.
- A plain ``ConnectorError`` (never retried) for TLS failures such as an untrusted certificate.

``ConnectionError`` and ``TimeoutError`` deliberately mirror the names used across the team's design; they
shadow the builtins inside this module only, so import the module (``from connectors import errors``) or
the classes under an alias.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-Trace-Id")
_BODY_SUMMARY_CHARS = 300
_SECRET_QUERY_KEY = re.compile(r"signature|secret|token|password|key|nonce|auth", re.IGNORECASE)
# A query string inside a message: of a whole URL, or urllib3's "Max retries exceeded with url: /path?query".
_QUERY_IN_TEXT = re.compile(r"\?([^\s'\"()<>]+)")


def redact_url(url: str) -> str:
    """Return ``url`` with the values of secret-looking query parameters replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    return urlunsplit(parts._replace(query=_redacted_query(parts.query)))


def redact_queries(text: str) -> str:
    """Return ``text`` with the values of secret-looking query parameters of every URL in it replaced by ``***``.

    For messages of requests and urllib3, which name the URL they failed on, OAuth 1.0a parameters included.
    """
    return _QUERY_IN_TEXT.sub(lambda match: "?" + _redacted_query(match.group(1)), text)


def _redacted_query(query: str) -> str:
    pairs = [
        (key, "***" if _SECRET_QUERY_KEY.search(key) else value)
        for key, value in parse_qsl(query, keep_blank_values=True)
    ]
    return urlencode(pairs, safe=",*")


class ConnectorError(Exception):
    """Base class for everything a connector raises about the remote side."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.request_id = request_id

    @property
    def remote_code(self) -> str | None:
        """Return the error code the remote side put in its JSON body (WordPress ``code``), if any."""
        return str(self.body["code"]) if isinstance(self.body, dict) and self.body.get("code") else None

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
        return self.message


class AuthError(ConnectorError):
    """The remote side rejected our credentials (401) or our permissions (403)."""


class NotFoundError(ConnectorError):
    """The remote resource does not exist (404)."""


class ConflictError(ConnectorError):
    """The remote side reported a conflicting concurrent change (409)."""


class ClientError(ConnectorError):
    """The remote side refused the request as invalid (any 4xx not covered by a subclass)."""


class RateLimitError(ConnectorError):
    """The remote side asked us to slow down (429)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ConnectorError):
    """The remote side failed (5xx)."""


class ConnectionError(ConnectorError):
    """No usable response arrived; ``should_retry`` says the request was certainly not delivered."""

    def __init__(self, message: str, *, should_retry: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.should_retry = should_retry


class TimeoutError(ConnectionError):
    """Connecting or reading timed out."""


class UnsafeURLError(ConnectorError):
    """The SSRF guard refused a URL, a resolved address or a redirect."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """Return the first request-correlation header the server sent, if any."""
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name]
    return None


def _decoded_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text[:_BODY_SUMMARY_CHARS]


def _summary(body: Any) -> str:
    if isinstance(body, dict):
        # WooCommerce/WordPress: {"code", "message"}; Shopware: {"errors": [{"code", "detail"}]}.
        if body.get("message"):
            return f"{body.get('code', '')} {body['message']}".strip()
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return f"{first.get('code', '')} {first.get('detail') or first.get('title', '')}".strip()
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text[:_BODY_SUMMARY_CHARS]


def error_from_response(response: requests.Response, *, description: str | None = None) -> ConnectorError:
    """Build the typed error matching a non-success ``response``."""
    status = response.status_code
    body = _decoded_body(response)
    what = description or f"{response.request.method} {redact_url(response.request.url or '')}"
    message = f"{what} -> HTTP {status}: {_summary(body)}"
    common: dict[str, Any] = {"status": status, "body": body, "request_id": request_id_of(response.headers)}
    if status in (401, 403):
        return AuthError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 409:
        return ConflictError(message, **common)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimitError(message, retry_after=retry_after, **common)
    if status >= 500:
        return ServerError(message, **common)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return UnsafeURLError(f"{message}: redirects are not followed (Location: {location})", **common)
    return ClientError(message, **common)


def error_from_exception(exc: requests.RequestException, *, description: str) -> ConnectorError:
    """Build the typed error for a transport failure raised by requests."""
    message = f"{description} failed: {exc.__class__.__name__}: {redact_queries(str(exc))}"
    if isinstance(exc, requests.ConnectTimeout):
        # Subclass of ConnectionError in requests; the TCP handshake never completed.
        return TimeoutError(message, should_retry=True)
    if isinstance(exc, requests.Timeout):
        return TimeoutError(message, should_retry=False)
    if isinstance(exc, requests.exceptions.SSLError):
        # Usually a certificate problem: a configuration error, not worth retrying.
        return ConnectorError(message)
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return ConnectionError(message, should_retry=True)
    return ConnectionError(message, should_retry=False)


def _never_connected(exc: BaseException) -> bool:
    """Return True when the failure happened before a connection was established (request not sent)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False
