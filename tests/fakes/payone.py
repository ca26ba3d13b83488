"""A local PAYONE Server API double answering ``request=consumerscore`` as PAYONE documents it.

Serve it with ``tests.fakes.server.FakeServer``; hanging and HTTP-level failures come from the server's
fault injection (``delay_next``, ``fail_next``). The answer depends on the test person's last name:

- ``Rot`` -> score R, ``Gelb`` -> score Y, anything else -> G (with personstatus PPB);
- ``Verzogen`` -> G with personstatus PUZ (moved);
- a street written ``...str. N`` comes back corrected to ``...straße N``.

Bad parameters (missing name or address fields, a malformed birthday, an unknown score type) answer
``status=INVALID`` with an errorcode; wrong account credentials answer ``status=ERROR``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

PATH = "/post-gateway/"
SCORE_TYPES = frozenset({"IH", "IA", "IB", "CE", "SFS", "SFM"})
ADDRESS_CHECK_TYPES = frozenset({"NO", "BA", "PE", "BB", "PB"})
_REQUIRED_PERSON_FIELDS = ("lastname", "street", "zip", "city", "country")
_SCORES_BY_LAST_NAME = {
    "rot": ("R", "120", "PPB"),
    "gelb": ("Y", "380", "PPB"),
    "verzogen": ("G", "650", "PUZ"),
}
_GREEN = ("G", "720", "PPB")
_STREET_ABBREVIATION = re.compile(r"(?P<s>[Ss])tr\.(?=\s|$)")


@dataclass
class FakePayone:
    """The WSGI app; ``account`` is the mid/portalid/aid/portal key it accepts."""

    merchant_id: str = "10001"
    portal_id: str = "2000001"
    sub_account_id: str = "30001"
    portal_key: str = "portal-secret"
    received: list[dict[str, str]] = field(default_factory=list)

    def policy_account(self, mode: str = "test") -> dict[str, str]:
        """Return the ``bureau_account`` a merchant's policy names to use this account."""
        return {
            "merchant_id": self.merchant_id,
            "portal_id": self.portal_id,
            "sub_account_id": self.sub_account_id,
            "portal_key": self.portal_key,
            "mode": mode,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = _request(environ)
        if request.path != PATH or request.method != "POST":
            return Response("not found", status=404)(environ, start_response)
        params = {key: request.form[key] for key in request.form}
        self.received.append(params)
        body = "\n".join(f"{key}={value}" for key, value in self.answer(params).items()) + "\n"
        return Response(body, content_type="text/plain; charset=utf-8")(environ, start_response)

    def answer(self, params: Mapping[str, str]) -> dict[str, str]:
        """Return the response fields for one request's parameters."""
        expected_key = hashlib.md5(self.portal_key.encode(), usedforsecurity=False).hexdigest()
        account = (params.get("mid"), params.get("portalid"), params.get("aid"))
        if (
            account != (self.merchant_id, self.portal_id, self.sub_account_id)
            or params.get("key") != expected_key
        ):
            return _error(
                "ERROR", "2", "Authorization failed", "An error occurred while processing this transaction"
            )
        if params.get("request") != "consumerscore":
            return _error("ERROR", "1", "Parameter {request} faulty or missing")
        if params.get("mode") not in ("test", "live"):
            return _error("ERROR", "1", "Parameter {mode} faulty or missing")
        for name in _REQUIRED_PERSON_FIELDS:
            if not params.get(name):
                return _error("INVALID", "1078", f"Parameter {{{name}}} faulty or missing")
        if params.get("consumerscoretype") not in SCORE_TYPES:
            return _error("INVALID", "1079", "Parameter {consumerscoretype} faulty or missing")
        if params.get("addresschecktype") not in ADDRESS_CHECK_TYPES:
            return _error("INVALID", "1080", "Parameter {addresschecktype} faulty or missing")
        if "birthday" in params and not re.fullmatch(r"\d{8}", params["birthday"]):
            return _error("INVALID", "1081", "Parameter {birthday} faulty or missing")
        score, score_value, person_status = _SCORES_BY_LAST_NAME.get(params["lastname"].casefold(), _GREEN)
        return {
            "status": "VALID",
            "secstatus": "10",
            "score": score,
            "scorevalue": score_value,
            "personstatus": person_status,
            "firstname": params.get("firstname", ""),
            "lastname": params["lastname"],
            "street": _STREET_ABBREVIATION.sub(r"\g<s>traße", params["street"]),
            "zip": params["zip"],
            "city": params["city"],
        }


def _request(environ: dict[str, Any]) -> Request:
    # FakeServer reads the body before the app runs; its parsed request (body cached) is in the environ.
    existing = environ.get("werkzeug.request")
    return existing if isinstance(existing, Request) else Request(environ)


def _error(status: str, code: str, message: str, customer_message: str = "") -> dict[str, str]:
    return {
        "status": status,
        "errorcode": code,
        "errormessage": message,
        "customermessage": customer_message or "Please check your details.",
    }
