"""paywise Case Management API (``https://api.paywise.de/v1``) behind the ``CollectionAgency`` interface.

Documented API (docs.paywise.de, "Case Management API") this client uses:

- Bearer API key (``Authorization: Bearer <key>``; test and live keys are separate).
- ``POST /v1/debtors/`` (``acting_as``, ``person{salutation, first_name, last_name, birth_date}`` or
  ``organization{name}``, ``addresses[{street, zip, city, country}]``, ``communication_channels[{type,
  value}]``, ``your_reference``) and ``GET /v1/debtors/?your_reference=``.
- ``POST /v1/claims/`` (``debtor``, ``your_reference``, ``document_reference``, ``subject_matter``,
  ``occurence_date``, ``document_date``, ``due_date``, ``reminder_date``, ``delay_date``,
  ``main_claim_amount``, ``total_claim_amount`` = main + charges minus payments, ``additional_charges_amount``,
  ``additional_charges[]``, ``payments[]``, ``items[]``, ``events[]``, ``metadata[]``, ``claim_disputed``,
  ``starting_approach``), ``GET /v1/claims/?your_reference=`` and ``GET /v1/claims/{id}/``.
- ``POST /v1/claims/{id}/documents/`` (multipart), then ``PATCH /v1/claims/{id}/``
  ``{"submission_state": "released"}``; a released claim cannot change. paywise reviews it
  (``under_review``, ``client_response_pending``) and ``accepted`` it into a mandate or ``rejected`` it.
- ``GET /v1/mandates/{id}/``: ``legal_stage``, ``processing_state``, ``payment_state``,
  ``legal_claim_balance``, ``reference_number``, ``status_updates``.
- ``POST /v1/payments/`` (``claim``, ``amount``, ``value_date``, ``your_reference``): direct payments, any time.
- ``DELETE /v1/claims/{id}/`` for claims that were never released.

Where the docs are silent, this client decides (``tests/fakes/agency.py`` models the same):

- Exactly once does not rest on the server: the docs neither promise that ``your_reference`` is unique nor
  mention ``Idempotency-Key`` (sent anyway). Every create first looks the object up by ``your_reference``, and
  a create that failed ambiguously (5xx, timeout, lost connection) is not blindly re-sent: the client looks
  again and only creates when nothing is there. After a 5xx the server has finished with the request, so
  the client looks again at once; after a timeout or lost connection the request may still be under way
  and land later, so the error goes to the caller, whose retry comes after its own backoff and looks up
  first. A 409 on create means someone else created it: look it up.
  Concurrent submissions of the same case must still be serialised by the caller (e.g. a row lock).
- One debtor per case, filed under the case's ``your_reference`` (a stale address of an earlier case is never
  reused).
- The creditor is the company the API key belongs to; its name and address also travel as claim metadata.
- Charge types: dunning fee → ``reminder_fee``, interest → ``interest`` (rate and period in
  ``subject_matter`` and metadata), the §288(5) flat fee → ``default_lump_sum``.
- Dunning history → claim ``events`` of type ``claim``; items carry the line total as ``amount``.
- Validation failures (400 or 422 with ``{"field": ["message"]}``) become ``CaseRejected``; a rejected claim
  names its reason in ``rejection_reason``.
- A released claim is withdrawn with ``POST /v1/claims/{id}/withdrawal/`` ``{"reason"}``; an unreleased one
  is deleted.
- Payments paywise collected are the claim's ``payments`` without ``your_reference`` (ours always carry one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import requests
from requests.auth import AuthBase
from urllib3 import encode_multipart_formdata

from connectors.agencies.base import (
    Balance,
    CaseRef,
    CaseRejected,
    CaseStatus,
    Charge,
    ChargeType,
    CollectedPayment,
    CollectionAgency,
    DebtorPayment,
    HandoverCase,
    LegalStage,
    PaymentState,
    ProcessingState,
    SubmissionState,
)
from connectors.errors import ClientError, ConflictError, ConnectionError, NotFoundError, ServerError
from connectors.http import DEFAULT_TIMEOUT, Backoff, HttpClient

logger = logging.getLogger(__name__)

API_URL = "https://api.paywise.de"
CHARGE_TYPES: Mapping[ChargeType, str] = {
    ChargeType.DUNNING_FEE: "reminder_fee",
    ChargeType.FLAT_FEE: "default_lump_sum",
    ChargeType.INTEREST: "interest",
}
SUBMISSION_STATES: Mapping[str, SubmissionState] = {
    "created": SubmissionState.DRAFT,
    "released": SubmissionState.SUBMITTED,
    "under_review": SubmissionState.IN_REVIEW,
    "client_response_pending": SubmissionState.IN_REVIEW,
    "accepted": SubmissionState.ACCEPTED,
    "rejected": SubmissionState.REJECTED,
}
VALIDATION_STATUSES = frozenset({400, 422})
CENT = Decimal("0.01")


class BearerKeyAuth(AuthBase):
    """Attach the API key as a bearer token."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.api_key}"
        return request


def money(amount: Decimal) -> dict[str, str]:
    """Return paywise's amount object for ``amount`` in EUR."""
    return {"value": str(amount.quantize(CENT)), "currency": "EUR"}


def parse_money(raw: Mapping[str, Any] | None) -> Decimal:
    """Return the Decimal value of a paywise amount object (0 when absent)."""
    return Decimal(str(raw["value"])) if raw else Decimal("0.00")


def rejection_from(error: ClientError) -> CaseRejected:
    """Turn a validation answer (``{"field": ["message"]}`` or ``{"detail": ...}``) into ``CaseRejected``."""
    body = error.body
    field_errors: dict[str, list[str]] = {}
    if isinstance(body, Mapping):
        for key, value in body.items():
            messages = value if isinstance(value, list) else [value]
            field_errors[str(key)] = [str(message) for message in messages]
    detail = field_errors.pop("detail", None)
    parts = [f"{key}: {' '.join(messages)}" for key, messages in field_errors.items()]
    reason = "; ".join(detail or parts) or error.message
    return CaseRejected(reason, field_errors=field_errors, status=error.status)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def debtor_payload(case: HandoverCase) -> dict[str, Any]:
    """Build the ``POST /v1/debtors/`` body for the case's debtor."""
    debtor = case.debtor
    payload: dict[str, Any] = {
        "your_reference": case.your_reference,
        "acting_as": debtor.kind.value,
        "addresses": [],
        "communication_channels": [],
    }
    if debtor.organization:
        payload["organization"] = {"name": debtor.organization}
    else:
        person = {
            "salutation": debtor.salutation,
            "first_name": debtor.first_name,
            "last_name": debtor.last_name,
            "birth_date": _iso(debtor.birth_date),
        }
        payload["person"] = {key: value for key, value in person.items() if value}
    if debtor.address is not None:
        payload["addresses"].append(
            {
                "street": debtor.address.street_line,
                "zip": debtor.address.postal_code,
                "city": debtor.address.city,
                "country": debtor.address.country,
            }
        )
    if debtor.email:
        payload["communication_channels"].append({"type": "email", "value": debtor.email})
    if debtor.phone:
        payload["communication_channels"].append({"type": "phone", "value": debtor.phone})
    return payload


def charge_payload(charge: Charge, reference: str) -> dict[str, Any]:
    """Build one ``additional_charges`` entry; interest states its rate and period."""
    entry: dict[str, Any] = {
        "type": CHARGE_TYPES[charge.type],
        "your_reference": reference,
        "subject_matter": charge.reason,
        "amount": money(charge.amount),
        "metadata": [],
    }
    if charge.charged_on is not None:
        entry["occurence_date"] = entry["document_date"] = charge.charged_on.isoformat()
    if charge.type is ChargeType.INTEREST:
        assert charge.rate is not None and charge.period_start and charge.period_end
        entry["subject_matter"] = (
            f"{charge.reason} ({charge.rate} % p.a. vom {charge.period_start:%d.%m.%Y} "
            f"bis {charge.period_end:%d.%m.%Y})"
        )
        entry["occurence_date"] = charge.period_start.isoformat()
        entry["due_date"] = charge.period_end.isoformat()
        entry["metadata"] = [
            {"type": "interest:rate_percent_per_year", "value": str(charge.rate)},
            {"type": "interest:period_start", "value": charge.period_start.isoformat()},
            {"type": "interest:period_end", "value": charge.period_end.isoformat()},
        ]
    return entry


def claim_payload(case: HandoverCase, debtor_id: str) -> dict[str, Any]:
    """Build the ``POST /v1/claims/`` body: the claim with every §13a RDG detail paywise can carry."""
    claim = case.claim
    reference = case.your_reference
    creditor = case.creditor
    return {
        "debtor": debtor_id,
        "your_reference": reference,
        "document_reference": claim.invoice_number,
        "subject_matter": claim.subject_matter,
        "occurence_date": claim.order_date.isoformat(),
        "document_date": claim.invoice_date.isoformat(),
        "due_date": claim.due_date.isoformat(),
        "reminder_date": _iso(claim.reminder_date),
        "delay_date": _iso(claim.delay_date),
        "main_claim_amount": money(claim.principal),
        "total_claim_amount": money(claim.total),
        "additional_charges_amount": money(claim.charges_total),
        "additional_charges": [
            charge_payload(charge, f"{reference}:charge:{index}")
            for index, charge in enumerate(claim.charges)
        ],
        "payments": [
            {
                "your_reference": payment.key,
                "amount": money(payment.amount),
                "value_date": _iso(payment.value_date),
            }
            for payment in claim.payments
        ],
        "items": [
            {
                "description": item.description,
                "quantity": item.quantity,
                "unit": item.unit,
                "amount": money(item.amount),
            }
            for item in claim.items
        ],
        "events": [
            {
                "type": "claim",
                "title": notice.stage,
                "occurence": _utc_iso(notice.sent_at),
                "your_reference": f"{reference}:dunning:{index}",
                "description": "; ".join(
                    part
                    for part in (
                        f"Zahlungsfrist {notice.deadline:%d.%m.%Y}" if notice.deadline else "",
                        f"Gebühr {notice.fee.quantize(CENT)} EUR" if notice.fee else "",
                    )
                    if part
                ),
            }
            for index, notice in enumerate(case.dunning_history)
        ],
        "metadata": [
            {"type": "creditor:name", "value": creditor.name},
            {
                "type": "creditor:address",
                "value": f"{creditor.address.street_line}, {creditor.address.postal_code} "
                f"{creditor.address.city}, {creditor.address.country}",
            },
        ],
        "claim_disputed": claim.disputed,
        "starting_approach": "extrajudicial",
    }


class PaywiseAgency(HttpClient, CollectionAgency):
    """One merchant's paywise account."""

    agency = "paywise"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = API_URL,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        backoff: Backoff | None = None,
        allow_private: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            session=session,
            auth=BearerKeyAuth(api_key),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            allow_private=allow_private,
            sleep=sleep,
        )

    def verify(self) -> None:
        """Make one cheap authenticated call; raise ``AuthError`` when the key does not work."""
        self.request("GET", "/v1/info/")

    # -- CollectionAgency ---------------------------------------------------------------------------

    def find_case(self, your_reference: str) -> CaseRef | None:
        """Return the claim filed under ``your_reference`` (released or not), or None."""
        claim = self._find("claims", your_reference)
        return self._ref(claim) if claim is not None else None

    def submit_case(self, case: HandoverCase) -> CaseRef:
        """Create debtor and claim, upload the invoice and release, once; resume what an earlier attempt left."""
        if case.claim.currency != "EUR":
            raise CaseRejected(f"paywise collects EUR claims only, not {case.claim.currency}")
        claim = self._find("claims", case.your_reference)
        if claim is None:
            claim = self._create_claim(case)
        else:
            logger.info("paywise claim %s for %s exists; resuming", claim["id"], case.your_reference)
        if claim["submission_state"] == "created":
            self._upload_missing_document(claim, case)
            claim = self._release(claim)
        if claim["submission_state"] == "rejected":
            raise CaseRejected(claim.get("rejection_reason") or "rejected by paywise")
        return self._ref(claim)

    def get_status(self, case_ref: CaseRef) -> CaseStatus:
        """Read the claim and, once accepted, its mandate."""
        claim = self._get_claim(case_ref.case_id)
        mandate = None
        if claim.get("mandate"):
            mandate = self.request("GET", f"/v1/mandates/{claim['mandate']['id']}/").json()
        collected = tuple(
            CollectedPayment(
                id=payment["id"],
                amount=parse_money(payment["amount"]),
                value_date=date.fromisoformat(payment["value_date"]),
            )
            for payment in claim.get("payments") or []
            if not payment.get("your_reference")
        )
        submission = SUBMISSION_STATES[claim["submission_state"]]
        if mandate is None:
            withdrawn = claim.get("withdrawal") is not None
            return CaseStatus(
                ref=case_ref,
                submission=submission,
                processing_state=ProcessingState.CANCELED_BY_CLIENT if withdrawn else None,
                collected_payments=collected,
                rejection_reason=claim.get("rejection_reason"),
                updated_at=_parse_timestamp(claim.get("updated")),
            )
        balance = mandate["legal_claim_balance"]
        updates = mandate.get("status_updates") or []
        return CaseStatus(
            ref=case_ref,
            submission=submission,
            legal_stage=LegalStage(mandate["legal_stage"]),
            processing_state=ProcessingState(mandate["processing_state"]),
            payment_state=PaymentState(mandate["payment_state"]),
            balance=Balance(
                principal=parse_money(balance.get("balance_of_principal_claim")),
                interest=parse_money(balance.get("balance_of_interest_on_principal_claim"))
                + parse_money(balance.get("balance_of_interest_on_costs")),
                costs=parse_money(balance.get("balance_of_costs_interest_bearing"))
                + parse_money(balance.get("balance_of_costs_interest_free")),
                total=parse_money(balance.get("total_balance")),
            ),
            collected_payments=collected,
            agency_reference=mandate.get("reference_number"),
            last_update=updates[-1]["title"] if updates else None,
            updated_at=_parse_timestamp(balance.get("updated")),
        )

    def report_direct_payment(self, case_ref: CaseRef, payment: DebtorPayment) -> None:
        """Report a payment the merchant received, unless a payment with its key is already on the claim."""

        def reported() -> dict[str, Any] | None:
            claim = self._get_claim(case_ref.case_id)
            return next(
                (p for p in claim.get("payments") or [] if p.get("your_reference") == payment.key), None
            )

        body = {
            "claim": case_ref.case_id,
            "your_reference": payment.key,
            "amount": money(payment.amount),
            "value_date": payment.value_date.isoformat(),
            "metadata": [{"type": "source", "value": "paid to creditor"}],
        }
        self._create_once(
            "/v1/payments/", body, key=f"payment:{case_ref.case_id}:{payment.key}", find=reported
        )

    def withdraw(self, case_ref: CaseRef, reason: str) -> None:
        """Delete a never-released claim; otherwise ask paywise to stop (idempotent)."""
        try:
            claim = self._get_claim(case_ref.case_id)
        except NotFoundError:
            return  # deleted by an earlier withdrawal
        if claim["submission_state"] == "created":
            try:
                self.request("DELETE", f"/v1/claims/{claim['id']}/")
            except NotFoundError:
                return
            return
        if claim["submission_state"] == "rejected" or claim.get("withdrawal") is not None:
            return
        self.request(
            "POST",
            f"/v1/claims/{claim['id']}/withdrawal/",
            json={"reason": reason},
            idempotency_key=f"withdrawal:{claim['id']}",
        )

    # -- steps --------------------------------------------------------------------------------------

    def _create_claim(self, case: HandoverCase) -> dict[str, Any]:
        reference = case.your_reference
        debtor = self._create_once(
            "/v1/debtors/",
            debtor_payload(case),
            key=f"debtor:{reference}",
            find=lambda: self._find("debtors", reference),
        )
        return self._create_once(
            "/v1/claims/",
            claim_payload(case, debtor["id"]),
            key=f"claim:{reference}",
            find=lambda: self._find("claims", reference),
        )

    def _upload_missing_document(self, claim: Mapping[str, Any], case: HandoverCase) -> None:
        document = case.document
        if document is None or document.filename in {d["filename"] for d in claim.get("documents") or []}:
            return
        body, content_type = encode_multipart_formdata(
            {"file": (document.filename, document.content, document.mime_type)}
        )
        try:
            self.request(
                "POST",
                f"/v1/claims/{claim['id']}/documents/",
                data=body,
                headers={"Content-Type": content_type},
                idempotency_key=f"document:{claim['id']}:{document.filename}",
            )
        except ClientError as exc:
            if exc.status in VALIDATION_STATUSES:
                raise rejection_from(exc) from exc
            raise

    def _release(self, claim: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.request(
                "PATCH",
                f"/v1/claims/{claim['id']}/",
                json={"submission_state": "released", "send_order_confirmation": False},
                idempotent=True,  # releasing twice only meets a 409
            ).json()
        except ConflictError:
            current = self._get_claim(claim["id"])
            if current["submission_state"] == "created":
                raise
            return current

    def _create_once(
        self, path: str, body: Mapping[str, Any], *, key: str, find: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """POST ``body`` unless ``find`` sees the object; after an ambiguous failure look again before resending."""
        existing = find()
        if existing is not None:
            return existing
        attempt = 0
        while True:
            try:
                # Not marked replay-safe: the HttpClient must not resend a create that may have landed.
                return self.request(
                    "POST", path, json=body, headers={self.idempotency_header: key}, idempotent=False
                ).json()
            except ConflictError:
                existing = find()
                if existing is None:
                    raise
                return existing
            except ClientError as exc:
                if exc.status in VALIDATION_STATUSES:
                    raise rejection_from(exc) from exc
                raise
            except (ServerError, ConnectionError) as exc:
                # A create that timed out may still land: a lookup now could miss it and file it twice.
                may_land_later = isinstance(exc, ConnectionError) and not exc.should_retry
                if attempt >= self.max_retries or may_land_later:
                    raise
                self._sleep(self.backoff.delay(attempt, exc))
                attempt += 1
                existing = find()
                if existing is not None:
                    logger.info("%s %s was created despite %s", path, key, type(exc).__name__)
                    return existing

    def _find(self, collection: str, your_reference: str) -> dict[str, Any] | None:
        """Return the oldest object in ``collection`` filed under ``your_reference``."""
        results = self.request(
            "GET", f"/v1/{collection}/", params={"your_reference": your_reference, "limit": 100}
        ).json()["results"]
        matching = [item for item in results if item.get("your_reference") == your_reference]
        if len(matching) > 1:
            logger.warning("paywise holds %d %s for %s", len(matching), collection, your_reference)
        return min(matching, key=lambda item: item.get("created") or "") if matching else None

    def _get_claim(self, claim_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/claims/{claim_id}/").json()

    def _ref(self, claim: Mapping[str, Any]) -> CaseRef:
        return CaseRef(agency=self.agency, case_id=claim["id"], your_reference=claim["your_reference"])
