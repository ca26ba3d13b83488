"""The application's error tree and the single place that turns errors into JSON responses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from backend.logs import loggable

if TYPE_CHECKING:
    from marshmallow import ValidationError

logger = logging.getLogger(__name__)


class AppError(Exception):
    """An error the client can act on; subclasses fix the HTTP status and machine code."""

    http_status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code:
            self.code = code


class UserValueError(AppError):
    http_status = 422
    code = "invalid_request"


class UnauthorizedError(AppError):
    http_status = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    http_status = 403
    code = "forbidden"


class NotFoundError(AppError):
    http_status = 404
    code = "not_found"


class ConflictError(AppError):
    http_status = 409
    code = "conflict"


class ServiceUnavailableError(AppError):
    http_status = 503
    code = "service_unavailable"


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    """Build the JSON error body every endpoint uses."""
    response = jsonify({"error": code, "message": message, "details": details})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_app_error(error: AppError) -> ResponseReturnValue:
    return error_response(error.http_status, error.code, error.message, error.details, error.headers)


def json_pointers(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages to ``{"/billing_address/country": [...]}``."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            if key == "_schema":  # marshmallow's key for errors of the object itself, not of a field
                flat.update(json_pointers(value, prefix))
                continue
            pointer = f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}"
            flat.update(json_pointers(value, pointer))
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "/": messages}
    return {prefix or "/": [str(messages)]}


def _invalid_fields(messages: Any) -> ResponseReturnValue:
    return error_response(422, "invalid_request", "The request has invalid fields.", json_pointers(messages))


def _handle_validation_error(error: ValidationError) -> ResponseReturnValue:
    return _invalid_fields(error.messages)


def _handle_http_exception(error: HTTPException) -> ResponseReturnValue:
    # flask-smorest/webargs put marshmallow messages on the 422 it raises.
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if error.code == 422 and messages is not None:
        location = next(iter(messages)) if isinstance(messages, dict) and len(messages) == 1 else None
        return _invalid_fields(messages[location] if location in ("json", "form", "files") else messages)
    code = (error.name or "error").lower().replace(" ", "_")
    headers = {}
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 429:
        code = "rate_limited"  # Flask-Limiter adds Retry-After and X-RateLimit-* after the request
    return error_response(error.code or 500, code, error.description or error.name, None, headers)


DATABASE_RETRY_AFTER = "5"


def _handle_database_unavailable(error: sa.exc.DBAPIError) -> ResponseReturnValue:
    """Answer 503 with Retry-After while the database cannot be reached; anything else stays a 500."""
    if (
        not isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError)
        and not error.connection_invalidated
    ):
        return _handle_unexpected(error)
    logger.warning(
        "database unavailable on %s %s: %s", request.method, loggable(request.path), type(error.orig).__name__
    )
    return error_response(
        503,
        "database_unavailable",
        "The database cannot be reached right now; nothing was changed. Try again shortly.",
        headers={"Retry-After": DATABASE_RETRY_AFTER},
    )


def _handle_unexpected(error: Exception) -> ResponseReturnValue:
    if current_app.testing and current_app.config.get("PROPAGATE_UNEXPECTED_ERRORS", True):
        raise error
    logger.exception("unhandled error on %s %s", request.method, loggable(request.path))
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


def register_error_handlers(app: Flask) -> None:
    """Answer every error as ``{"error", "message", "details"}`` JSON."""
    from marshmallow import ValidationError  # here: a command or the worker registers no handlers

    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(ValidationError, _handle_validation_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(sa.exc.DBAPIError, _handle_database_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)
