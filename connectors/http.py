"""Small HTTP client base shared by every connector (shops, credit bureaus, collection agencies).

``HttpClient`` owns one ``requests.Session`` with the SSRF guard mounted (``connectors.ssrf``), a base URL,
``(connect, read)`` timeouts, an auth hook and retries:

- ``should_retry()`` is the pure retry decision: connection failures that certainly never reached the server,
  409, 429 and 5xx are retried; other 4xx never. A request that may have reached the server is only replayed
  when it is safe to: GET/HEAD/OPTIONS/PUT/DELETE, calls marked ``idempotent=True`` (read-only searches,
  merge-style PATCHes) and requests carrying an idempotency key. A 429 is replayed for any method because the
  server refused it unprocessed, unless its ``Retry-After`` exceeds ``Backoff.max_retry_after`` (then the
  ``RateLimitError`` is raised so a job can reschedule instead of blocking a worker).
- ``Backoff.delay()`` waits ``Retry-After`` when given, else ``min(base * 2**attempt, cap)`` passed through
  ``Backoff.jitter()`` - override or pin it in tests (``Backoff(base=0)`` waits nothing).
- Redirects are never followed (``allow_redirects=False``, ``max_redirects = 0``); a 3xx raises
  ``UnsafeURLError``.
- Every attempt is logged with the URL's secret-looking query values redacted (OAuth signatures, keys,
  tokens); bodies and headers are never logged.

Subclasses add one method per remote call and may override ``_auth()`` (per-attempt auth) and
``_renew_auth()`` (called once after a 401; return True to retry with fresh credentials).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.auth import AuthBase

from connectors.errors import (
    AuthError,
    ConflictError,
    ConnectionError,
    ConnectorError,
    RateLimitError,
    ServerError,
    UnsafeURLError,
    error_from_exception,
    error_from_response,
    redact_url,
)
from connectors.ssrf import guard_session, validate_public_url

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; ``max_retry_after`` caps how long a Retry-After may block us."""

    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, error: ConnectorError) -> float:
        """Return the seconds to wait before retry number ``attempt`` (0-based) after ``error``."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        return self.jitter(min(self.base * 2**attempt, self.cap))

    def jitter(self, delay: float) -> float:
        """Spread ``delay`` over [delay/2, delay] so clients that failed together retry apart."""
        return random.uniform(delay / 2, delay)


def is_replay_safe(
    method: str, *, idempotent: bool | None = None, idempotency_key: str | None = None
) -> bool:
    """Return True when sending the request twice cannot do harm."""
    if idempotent is not None:
        return idempotent
    return method.upper() in IDEMPOTENT_METHODS or idempotency_key is not None


def should_retry(
    error: ConnectorError,
    *,
    attempt: int,
    max_retries: int,
    replay_safe: bool,
    max_retry_after: float = Backoff.max_retry_after,
) -> bool:
    """Decide whether a request that failed with ``error`` on 0-based ``attempt`` is sent again."""
    if attempt >= max_retries:
        return False
    if isinstance(error, ConnectionError):
        return error.should_retry or replay_safe
    if isinstance(error, RateLimitError):
        return error.retry_after is None or error.retry_after <= max_retry_after
    if isinstance(error, ConflictError | ServerError):
        return replay_safe
    return False


class HttpClient:
    """One session, one base URL, timeouts, auth, SSRF guard, typed errors and safe retries."""

    idempotency_header = "Idempotency-Key"

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        auth: AuthBase | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: Backoff | None = None,
        allow_private: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "ClaimBridge/0.1",
    ) -> None:
        self.base_url = validate_public_url(base_url, allow_private).rstrip("/")
        self.session = guard_session(session if session is not None else requests.Session(), allow_private)
        self.session.max_redirects = 0
        self.session.headers["User-Agent"] = user_agent
        self.auth = auth
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.allow_private = allow_private
        self._sleep = sleep

    def url_for(self, path: str) -> str:
        """Return the absolute URL of ``path`` below the base URL."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send a request, retrying where safe; return the 2xx response or raise a ``ConnectorError``."""
        method = method.upper()
        url = self.url_for(path)
        all_headers = dict(headers or {})
        if idempotency_key is not None:
            all_headers[self.idempotency_header] = idempotency_key
        replay_safe = is_replay_safe(method, idempotent=idempotent, idempotency_key=idempotency_key)
        renewed_auth = False
        attempt = 0
        while True:
            description = f"{method} {redact_url(url)}"
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=all_headers,
                    auth=self._auth(),
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.TooManyRedirects as exc:
                raise UnsafeURLError(f"{description}: redirects are not followed") from exc
            except requests.RequestException as exc:
                error: ConnectorError = error_from_exception(exc, description=description)
                logger.warning("%s failed on attempt %d: %s", description, attempt + 1, type(exc).__name__)
            except ConnectorError as exc:
                # Raised by the auth hook (e.g. a failed token request) or the SSRF guard.
                error = exc
                logger.warning("%s failed on attempt %d: %s", description, attempt + 1, exc)
            else:
                description = f"{method} {redact_url(response.url)}"
                elapsed_ms = (time.monotonic() - started) * 1000
                level = logging.DEBUG if response.status_code < 300 else logging.WARNING
                logger.log(level, "%s -> %d in %.0f ms", description, response.status_code, elapsed_ms)
                if response.status_code < 300:
                    return response
                error = error_from_response(response, description=description)
                if isinstance(error, AuthError) and error.status == 401 and not renewed_auth:
                    renewed_auth = True
                    if self._renew_auth():
                        continue
            if not should_retry(
                error,
                attempt=attempt,
                max_retries=self.max_retries,
                replay_safe=replay_safe,
                max_retry_after=self.backoff.max_retry_after,
            ):
                raise error
            delay = self.backoff.delay(attempt, error)
            logger.info("retrying %s in %.2f s after %s", description, delay, error.__class__.__name__)
            self._sleep(delay)
            attempt += 1

    def _auth(self) -> AuthBase | None:
        """Return the auth to attach to the next attempt."""
        return self.auth

    def _renew_auth(self) -> bool:
        """Refresh credentials after a 401; return True to send the request once more."""
        return False

    def close(self) -> None:
        """Close the underlying session and its connection pools."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
