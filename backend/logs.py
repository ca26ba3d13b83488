"""Logging set-up: one line per request with a request id, optional JSON lines, no secrets."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from flask import Flask, Response, g, has_request_context

from backend.extensions import current_g, current_request, header_of, request_token
from backend.untrusted import UNSAFE

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")  # the whole id (fullmatch)
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# What a path must not bring into a log line as it is: what no text of ours may hold (control characters,
# bidirectional overrides, lone surrogates); line breaks, Unicode's included, and tabs, with which it could forge a
# line; and the backslash, so that an escape written here cannot be told from the same text sent.
_UNPRINTABLE = re.compile(f"{UNSAFE.pattern}|[\t\n\r\u2028\u2029\\\\]")


def loggable(text: str) -> str:
    """Return ``text`` with each character that could forge or garble a log line written as an escape."""
    return _UNPRINTABLE.sub(
        lambda match: match.group().encode("unicode_escape", "backslashreplace").decode(), text
    )


class RequestContextFilter(logging.Filter):
    """Attach the request id to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """Format records as one JSON object per line, with extra fields kept."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(app: Flask) -> None:
    """Install the root handler once, in the configured format and level."""
    # Authlib logs issued tokens at DEBUG; never let those records through, whatever the level.
    logging.getLogger("authlib").setLevel(logging.INFO)
    root = logging.getLogger()
    if getattr(root, "_claimbridge_configured", False):
        root.setLevel(app.config["CLAIMBRIDGE_LOG_LEVEL"])
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestContextFilter())
    if app.config["CLAIMBRIDGE_LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
        handler.formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(app.config["CLAIMBRIDGE_LOG_LEVEL"])
    root._claimbridge_configured = True  # type: ignore[attr-defined]


access_logger = logging.getLogger("claimbridge.access")


def _start_request() -> None:
    incoming = header_of(current_request(), REQUEST_ID_HEADER) or ""
    ctx_g = current_g()
    # 128 random bits in hex: the form of uuid4().hex (without its fixed version bits) at a fifth of its cost.
    ctx_g.request_id = incoming if _REQUEST_ID_PATTERN.fullmatch(incoming) else secrets.token_hex(16)
    ctx_g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    ctx_g = current_g()
    req = current_request()
    duration_ms = (time.perf_counter() - ctx_g.get("request_started", time.perf_counter())) * 1000
    merchant = getattr(request_token(), "merchant_id", None)
    response.headers[REQUEST_ID_HEADER] = ctx_g.get("request_id", "-")
    method, path = req.method, loggable(req.path)  # the path is the client's, decoded: "%0a" is a line break
    access_logger.info(
        "%s %s %s %.1fms merchant=%s",
        method,
        path,
        response.status_code,
        duration_ms,
        merchant if merchant is not None else "-",
        extra={
            "method": method,
            "path": path,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 1),
            "merchant_id": merchant,
        },
    )
    return response


def init_request_logging(app: Flask) -> None:
    """Give each request an id and log one line when it ends."""
    app.before_request(_start_request)
    app.after_request(_log_request)
