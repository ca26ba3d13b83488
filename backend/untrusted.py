"""Untrusted input read safely: JSON within bounds, and text a database can store and a person can read.

Pure functions without Flask, used by the request checks in ``backend.boundary``, the signed shop endpoints and
the file importers (CSV, MT940, camt.053) alike.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 32  # the deepest document any endpoint takes is five levels
MAX_INTEGER_DIGITS = 30  # no field holds more; Python would spend quadratic time on 5,000 digits

# C0 controls except tab, newline and carriage return; DEL and C1 controls; bidi embeddings, overrides and
# isolates (they reorder what a merchant reads, "Trojan Source"); lone UTF-16 surrogates, which no database
# column can store. NUL alone made PostgreSQL refuse the row.
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The JSON escapes that can write such a character: \b and \f, and \u of a code point in those ranges. Others
# (\n, \", \u00fc for "ü" as most JSON encoders write it) cannot; an escaped backslash before "u" may match
# too, which only costs a walk over the document.
UNSAFE_ESCAPE = re.compile(
    r"\\(?:[bf]|u(?:00[01][0-9a-f]|00[89][0-9a-f]|007f|202[a-e]|206[6-9]|d[89a-f][0-9a-f]{2}))", re.IGNORECASE
)
_UNSAFE_ESCAPE_BYTES = re.compile(UNSAFE_ESCAPE.pattern.encode(), re.IGNORECASE)
# UTF-8 lead bytes of every unsafe character beyond ASCII: C1 controls (C2), bidi controls (E2), surrogates (ED).
_UNSAFE_LEAD_BYTES = (b"\xc2", b"\xe2", b"\xed")
# Every byte but the unsafe ASCII ones (C0 controls except tab, newline, carriage return; DEL).
_SAFE_ASCII_BYTES = bytes(set(range(256)) - {*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F})
UNSAFE_TEXT_MESSAGE = "Contains a control, bidirectional-override or unpaired surrogate character."


class UnreadableJSONError(ValueError):
    """JSON that is well-formed but beyond what the API reads (too deep, too long a number)."""


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise UnreadableJSONError(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def _refuse_constant(name: str) -> Any:
    raise UnreadableJSONError(f"{name} is not a JSON number")


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))


def _nesting_exceeds(raw: str | bytes, limit: int) -> bool:
    """Tell whether brackets outside strings nest deeper than ``limit`` (a linear scan, no recursion)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _valid_json_nests_deeper(raw: str | bytes, limit: int) -> bool:
    """``_nesting_exceeds`` for well-formed JSON, with the work done in C but for one step per bracket.

    Escapes are dropped and every byte but brackets and quotes deleted; the brackets between quote pairs are
    then walked. A backslash outside a string (malformed JSON) can make it differ from ``_nesting_exceeds``.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    outside = b"".join(_ESCAPE.sub(b"", data).translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    return max(accumulate(1 if byte in b"[{" else -1 for byte in outside), default=0) > limit


def loads(raw: str | bytes, **options: Any) -> Any:
    """Parse JSON within the API's bounds; raise ValueError for anything malformed or beyond them.

    A document is refused for its depth before anything else, exactly as ``_nesting_exceeds`` judges it; that
    character loop, slow in Python (0.3 ms for a 5 kB Shopware checkout), runs only when the quick scan finds
    a document too deep or the document is not JSON at all.
    """
    too_deep = UnreadableJSONError(f"the document nests deeper than {MAX_JSON_DEPTH} levels")
    if _valid_json_nests_deeper(raw, MAX_JSON_DEPTH) and _nesting_exceeds(raw, MAX_JSON_DEPTH):
        raise too_deep
    options.setdefault("parse_int", _bounded_int)
    options.setdefault("parse_constant", _refuse_constant)
    try:
        return json.loads(raw, **options)
    except (ValueError, RecursionError) as error:
        if _nesting_exceeds(raw, MAX_JSON_DEPTH):
            raise too_deep from error
        if isinstance(error, RecursionError):
            raise UnreadableJSONError("the document nests too deeply") from error
        raise


def unsafe_text_problem(text: str) -> str | None:
    """Return why a string cannot be accepted, or None when it is fine."""
    return UNSAFE_TEXT_MESSAGE if UNSAFE.search(text) else None


def strip_unsafe_text(value: Any) -> Any:
    """Return ``value`` with unsafe characters removed from every string in it (for platform payloads)."""
    if isinstance(value, str):
        return UNSAFE.sub("", value) if UNSAFE.search(value) else value
    if isinstance(value, dict):
        return {strip_unsafe_text(key): strip_unsafe_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_unsafe_text(item) for item in value]
    return value


def may_hold_unsafe_text(raw: str | bytes) -> bool:
    """Tell whether a JSON document's strings may hold an unsafe character, from its raw text.

    A JSON string holds a character either as itself or through a backslash escape, so a document with
    neither an unsafe character nor an escape that can write one has no unsafe string; the walk is needed only
    otherwise. Names with umlauts, which most encoders send escaped ("\\u00fc"), no longer cause one.
    """
    # bytes.find, not ``in``: ``in`` first tries its operand as an integer and formats a TypeError for it.
    if isinstance(raw, bytes) and all(raw.find(lead) == -1 for lead in _UNSAFE_LEAD_BYTES):
        # Only unsafe ASCII bytes can then be an unsafe character; deleting the others is C speed, where the
        # regular expression over the text cost a 5 kB Shopware checkout 0.05 ms.
        unsafe_bytes = raw.translate(None, _SAFE_ASCII_BYTES)
        return bool(unsafe_bytes) or (raw.find(b"\\") != -1 and _UNSAFE_ESCAPE_BYTES.search(raw) is not None)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return UNSAFE.search(text) is not None or ("\\" in text and UNSAFE_ESCAPE.search(text) is not None)


def unsafe_text_pointers(value: Any, pointer: str = "") -> dict[str, list[str]]:
    """Return JSON pointers to every string (key or value) in ``value`` holding an unsafe character."""
    found: dict[str, list[str]] = {}
    if isinstance(value, str):
        if UNSAFE.search(value):
            found[pointer or "/"] = [UNSAFE_TEXT_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if isinstance(key, str) and UNSAFE.search(key):
                found[child] = [UNSAFE_TEXT_MESSAGE]
            else:
                found.update(unsafe_text_pointers(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(unsafe_text_pointers(item, f"{pointer}/{index}"))
    return found


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """Return ``value`` as a cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
