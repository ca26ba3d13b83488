"""What every request passes before a view sees it: a whole body within its limit, bounded JSON, safe text.

The checks run as ``before_request`` hooks after authentication (``backend.auth.server.authenticate_request``),
so a stranger's body is never read and every endpoint — including ones added later — gets them without doing
anything. Views that must check something before their body is read (a signature over the raw bytes of a shop
webhook, the session of the console's upload) are marked ``@raw_body``; they read and parse it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from backend.errors import UserValueError
from backend.extensions import current_application, current_request
from backend.untrusted import UNSAFE, UNSAFE_TEXT_MESSAGE, loads, may_hold_unsafe_text, unsafe_text_pointers

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _unsafe_fields(prefix: str, items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    return {
        f"{prefix}{UNSAFE.sub('?', key)}": [UNSAFE_TEXT_MESSAGE]
        for key, value in items
        if UNSAFE.search(key) or UNSAFE.search(value)
    }


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with ``loads`` bounded, so ``request.get_json()`` anywhere is safe."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        # Decoded strictly: json.loads reads bytes with "surrogatepass", so a raw lone surrogate (no text in any
        # Unicode encoding, and refused by PostgreSQL's json) would pass as a string. Shops' signed payloads,
        # parsed by the views themselves (``raw_body``), keep having such characters stripped instead.
        if isinstance(s, bytes):
            s = s.decode(json.detect_encoding(s))
        return loads(s, **kwargs)


def raw_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that reads its body itself, after a check of its own: a signature over the raw bytes (shop
    webhooks), or a session named in the URL (the console's upload), so a stranger's body is never read."""
    view.reads_raw_body = True  # type: ignore[attr-defined]
    return view


def takes_upload(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an API view that takes a multipart upload: every other API view takes JSON only."""
    view.takes_upload = True  # type: ignore[attr-defined]
    return view


def body_limit(max_bytes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let one view accept bodies up to ``max_bytes`` instead of ``CLAIMBRIDGE_MAX_CONTENT_LENGTH``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorator


def _read_whole_body(req: Request) -> bytes:
    """Read the body once; a chunked body longer than the limit is a 413, never silently cut off."""
    data = req.get_data(cache=True, parse_form_data=False)
    limit = req.max_content_length
    # Werkzeug stops reading a chunked body at the limit without complaint; anything left is too much.
    chunked_at_limit = req.content_length is None and limit is not None and len(data) >= limit
    if chunked_at_limit and req.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def _query_arguments(req: Request) -> MultiDict[str, str]:
    """Return the query's arguments; a query that is not UTF-8 is a 400 (werkzeug decodes it strictly).

    gunicorn refuses such a request line itself; other WSGI servers pass it on.
    """
    try:
        return req.args
    except UnicodeDecodeError as error:
        raise BadRequest("The query string is not UTF-8 text.") from error


def check_request() -> None:
    """Refuse bodies over the limit, unreadable JSON and unsafe text anywhere in the request: query, path and
    body (4xx)."""
    req = current_request()
    args = _query_arguments(req)
    problems = _unsafe_fields("?", args.items(multi=True)) if args else {}
    # A path's parts are decoded text too: an order id of "%00" reached PostgreSQL, which refuses NUL.
    path_texts = [(name, value) for name, value in (req.view_args or {}).items() if isinstance(value, str)]
    problems.update(_unsafe_fields("path:", path_texts))
    view = current_application().view_functions.get(req.endpoint or "")
    if req.method in BODY_METHODS and not getattr(view, "reads_raw_body", False):
        limit = getattr(view, "max_body_bytes", None)
        if limit is not None:
            req.max_content_length = limit
        if req.content_length or req.headers.get("Transfer-Encoding"):
            body = _read_whole_body(req)
            if req.is_json:
                document = req.get_json()  # parsed (and refused if unreadable) here, cached for the view
                if may_hold_unsafe_text(body):
                    problems.update(unsafe_text_pointers(document))
            elif req.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
                problems.update(_unsafe_fields("", req.form.items(multi=True)))
    if problems:
        raise UserValueError("The request contains characters that cannot be accepted.", details=problems)


def require_json_body() -> None:
    """Refuse API request bodies that are not JSON with 415, but a multipart upload to a view that takes one.

    A view reading JSON would take any other body for an empty document: a settings PUT sent as a form answered
    200 and recorded a change.
    """
    req = current_request()
    if req.method not in BODY_METHODS or not req.path.startswith("/api/"):
        return
    if not req.content_length and not req.headers.get("Transfer-Encoding"):
        return
    if req.is_json:
        return
    view = current_application().view_functions.get(req.endpoint or "")
    if req.mimetype == "multipart/form-data" and getattr(view, "takes_upload", False):
        return
    raise UnsupportedMediaType("Send the request body as application/json.")
