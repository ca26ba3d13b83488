"""PAYONE Server API ``request=consumerscore``: a credit score (traffic light) for a person at an address.

The Server API is a form-encoded POST to ``https://api.pay1.de/post-gateway/`` authenticated by ``mid``,
``portalid`` and ``key`` (the MD5 hex of the portal key); the sub-account ``aid`` and ``mode`` (test|live)
select the contract. The answer is ``key=value`` lines: ``status`` VALID | INVALID | ERROR; on VALID ``score``
(traffic light G/Y/R), ``scorevalue``, ``secstatus``, ``personstatus`` and the corrected ``firstname``,
``lastname``, ``street``, ``zip``, ``city``; otherwise ``errorcode``, ``errormessage``, ``customermessage``.

Score types (``consumerscoretype``): infoscore ``IH`` (hard criteria), ``IA`` (all criteria), ``IB`` (all
plus Boniscore), Boniversum ``CE``, SCHUFA types as booked. ``addresschecktype``: ``NO``, ``BA``, ``PE``, or
``BB``/``PB`` for Boniversum.

Every request costs money and blocks a checkout, so nothing is retried and the whole call has one time
budget (default 1.5 s): the connect timeout takes at most a third of it, reading the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import requests

from connectors.bureaus.base import BureauError, BureauPerson, BureauResult, CorrectedAddress, CreditBureau
from connectors.http import HttpClient

API_URL = "https://api.pay1.de/post-gateway/"
API_VERSION = "3.11"
DEFAULT_TIMEOUT_BUDGET = 1.5
MODES = ("test", "live")

# PAYONE personstatus codes and what they mean.
PERSON_STATUSES: Mapping[str, str] = {
    "NONE": "no verification of personal data carried out",
    "PPB": "first name and surname confirmed at this address",
    "PHB": "surname known at this address (household)",
    "PAB": "first name and surname unknown, building known",
    "PKI": "ambiguous name and address",
    "PNZ": "cannot be delivered (any longer)",
    "PPV": "person deceased",
    "PPF": "postal address details incorrect",
    "PUG": "building unknown",
    "PUZ": "person moved, address not corrected",
    "PNP": "address cannot be checked",
    "UKN": "unknown",
}
# Response fields kept for audit: the outcome, never the personal data sent or returned.
_AUDIT_FIELDS = ("status", "score", "scorevalue", "secscore", "secstatus", "personstatus", "divergence")


def parse_response(text: str) -> dict[str, str]:
    """Parse a Server API answer of ``key=value`` lines."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            fields[key.strip()] = value.strip()
    return fields


class PayoneBureau(HttpClient, CreditBureau):
    """PAYONE consumerscore for one merchant's PAYONE account."""

    provider = "payone"

    def __init__(
        self,
        *,
        merchant_id: str,
        portal_id: str,
        sub_account_id: str,
        portal_key: str,
        mode: str = "test",
        score_type: str = "IH",
        address_check_type: str = "NO",
        language: str = "de",
        timeout_budget: float = DEFAULT_TIMEOUT_BUDGET,
        base_url: str = API_URL,
        session: requests.Session | None = None,
        allow_private: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if timeout_budget <= 0:
            raise ValueError("timeout_budget must be positive")
        connect_timeout = min(0.5, timeout_budget / 3)
        super().__init__(
            base_url,
            session=session,
            timeout=(connect_timeout, timeout_budget - connect_timeout),
            max_retries=0,
            allow_private=allow_private,
        )
        self.timeout_budget = timeout_budget
        self.mode = mode
        self.score_type = score_type
        self.address_check_type = address_check_type
        self.language = language
        self._account = {
            "mid": merchant_id,
            "portalid": portal_id,
            "aid": sub_account_id,
            # The Server API authenticates with the MD5 hex digest of the portal key, never the key itself.
            "key": hashlib.md5(portal_key.encode(), usedforsecurity=False).hexdigest(),
        }

    def consumerscore_params(self, person: BureauPerson) -> dict[str, str]:
        """Return the form parameters of a consumerscore request for ``person``."""
        params = {
            **self._account,
            "request": "consumerscore",
            "api_version": API_VERSION,
            "mode": self.mode,
            "encoding": "UTF-8",
            "addresschecktype": self.address_check_type,
            "consumerscoretype": self.score_type,
            "firstname": person.first_name,
            "lastname": person.last_name,
            "street": person.street,
            "zip": person.postal_code,
            "city": person.city,
            "country": person.country,
            "language": self.language,
        }
        if person.company:
            params["company"] = person.company
        if person.date_of_birth is not None:
            params["birthday"] = person.date_of_birth.strftime("%Y%m%d")
        return params

    def score(self, person: BureauPerson) -> BureauResult:
        """Ask PAYONE for a consumer score; raise ``BureauError`` on INVALID/ERROR, connector errors otherwise."""
        response = self.request("POST", "", data=self.consumerscore_params(person))
        response.encoding = "utf-8"
        return self.result_from(parse_response(response.text))

    def result_from(self, fields: Mapping[str, str]) -> BureauResult:
        """Build a result from parsed response fields, or raise ``BureauError`` for INVALID/ERROR."""
        status = fields.get("status", "")
        if status != "VALID":
            raise BureauError(
                f"PAYONE consumerscore {status or 'without status'}: "
                f"{fields.get('errorcode', '')} {fields.get('errormessage', '')}".rstrip(),
                error_code=fields.get("errorcode", ""),
                customer_message=fields.get("customermessage", ""),
                body={key: fields[key] for key in ("status", "errorcode", "errormessage") if key in fields},
            )
        score_value = fields.get("scorevalue", "")
        person_status = fields.get("personstatus", "")
        return BureauResult(
            provider=self.provider,
            traffic_light=fields.get("score", "") if fields.get("score") in ("G", "Y", "R") else "",
            score_value=int(score_value) if score_value.lstrip("-").isdigit() else None,
            person_status=person_status,
            person_status_meaning=PERSON_STATUSES.get(person_status, ""),
            corrected_address=CorrectedAddress(
                first_name=fields.get("firstname", ""),
                last_name=fields.get("lastname", ""),
                street=fields.get("street", ""),
                postal_code=fields.get("zip", ""),
                city=fields.get("city", ""),
            ),
            raw={key: fields[key] for key in _AUDIT_FIELDS if key in fields},
        )
