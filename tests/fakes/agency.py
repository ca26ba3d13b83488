"""A fake paywise Case Management API (``/v1``) that behaves as docs.paywise.de documents it.

Documented behaviour it follows:

- Bearer API key on every request; otherwise 401 ``{"detail": ...}``.
- ``POST /v1/debtors/`` (``acting_as``, ``person`` or ``organization``, ``addresses``,
  ``communication_channels``, ``your_reference``), ``GET /v1/debtors/?your_reference=``.
- ``POST /v1/claims/`` with the documented claim fields, ``GET /v1/claims/?your_reference=``,
  ``GET|PATCH|DELETE /v1/claims/{id}/``: a claim starts ``created``; documents are uploaded as multipart
  (``POST /v1/claims/{id}/documents/``, field ``file``); ``PATCH {"submission_state": "released"}`` releases
  it, after which it cannot change (409); only unreleased claims can be deleted.
- Review is asynchronous: released → ``under_review`` → ``accepted`` (a mandate is opened, carrying
  ``legal_stage``, ``processing_state``, ``payment_state`` and ``legal_claim_balance``) or ``rejected``; the
  test drives it with ``review``, ``accept``, ``reject`` and ``advance``.
- ``POST /v1/payments/`` reports a payment on a claim at any time; ``GET /v1/mandates/{id}/``.
- Lists are paginated DRF-style (``count``, ``next``, ``previous``, ``results``; ``limit``/``offset``).

Where the public docs are silent this fake decides (and ``connectors.agencies.paywise`` relies on no more):

- Validation errors answer ``validation_status`` (400, DRF's default; 422 selectable) with field errors
  ``{"field": ["message"]}``: missing address, names, principal ≤ 0 or below ``minimum_amount``, a total that
  is not principal + charges minus payments, bad dates or amounts.
- ``your_reference`` is unique per claim and per payment on a claim: a second create answers 409 (or, with
  ``duplicate_references="accept"``, is stored as a duplicate — the worst case, used to prove the client
  looks up before it creates). ``Idempotency-Key`` headers are ignored.
- A rejected claim carries ``rejection_reason``; a released claim is withdrawn with
  ``POST /v1/claims/{id}/withdrawal/`` ``{"reason"}`` (idempotent; the mandate turns ``canceled_by_client``).
- Payments the agency collected are the claim's payments without ``your_reference``; they are allocated to
  costs, then interest, then principal (§367 BGB).

Fault injection (a period of 500s, slow answers) comes from ``tests.fakes.server.FakeServer``; the fake adds
``fail_next_posts`` (500s for creates only, nothing saved) and ``lose_next_response`` (saved, but 500).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, Response, has_request_context, jsonify, request

from tests.fakes.server import FakeClock, FakeServer

API = "/v1"
SUBMISSION_STATES = ("created", "released", "under_review", "client_response_pending", "accepted", "rejected")
LEGAL_STAGES = ("extrajudicial", "judicial_dunning", "foreclosure", "long_term_monitoring", "ended")
PROCESSING_STATES = ("in_progress", "paused", "canceled_by_client", "canceled_by_service_provider", "ended")
CHANNEL_TYPES = ("email", "phone", "mobile_phone", "fax", "website_url")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class ValidationFailed(Exception):
    """Field errors to answer with the configured validation status."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(dict(errors))
        self.errors = dict(errors)


def _money(value: Decimal) -> dict[str, str]:
    return {"value": str(value.quantize(CENT)), "currency": "EUR"}


def _parse_amount(raw: Any, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    if not isinstance(raw, Mapping) or raw.get("currency") != "EUR":
        errors.setdefault(name, []).append("An amount object with currency EUR is required.")
        return None
    try:
        value = Decimal(str(raw.get("value")))
    except InvalidOperation:
        errors.setdefault(name, []).append("A valid number is required.")
        return None
    if not value.is_finite() or value != value.quantize(CENT):
        errors.setdefault(name, []).append("Ensure that there are no more than 2 decimal places.")
        return None
    return value


def _check_date(raw: Any, name: str, errors: dict[str, list[str]], *, required: bool = False) -> None:
    if raw is None:
        if required:
            errors.setdefault(name, []).append("This field is required.")
        return
    try:
        date.fromisoformat(str(raw))
    except ValueError:
        errors.setdefault(name, []).append("Date has wrong format. Use YYYY-MM-DD.")


class FakePaywise:
    """In-memory paywise account with its REST API; serve it, drive the review, inspect what arrived."""

    def __init__(
        self,
        *,
        api_key: str = "pw_test_4f9c2a7e1b",
        minimum_amount: Decimal = Decimal("0.00"),
        validation_status: int = 400,
        duplicate_references: str = "conflict",
        clock: FakeClock | None = None,
    ) -> None:
        if duplicate_references not in ("conflict", "accept"):
            raise ValueError("duplicate_references must be 'conflict' or 'accept'")
        self.api_key = api_key
        self.minimum_amount = minimum_amount
        self.validation_status = validation_status
        self.duplicate_references = duplicate_references
        self.clock = clock or FakeClock()
        self.debtors: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, dict[str, Any]] = {}
        self.mandates: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.claim_payloads: list[dict[str, Any]] = []
        self.debtor_payloads: list[dict[str, Any]] = []
        self._reference_numbers = itertools.count(1001)
        self._lost_responses: list[str] = []
        self._failing_posts: list[str] = []
        self._lock = threading.RLock()
        self.app = self._build_app()

    @contextmanager
    def serve(self) -> Iterator[FakeServer]:
        """Serve the API on a free loopback port."""
        with FakeServer(self.app) as server:
            yield server

    def lose_next_response(self, path: str) -> None:
        """Carry out the next successful POST under ``path`` but answer 500, as if the reply got lost."""
        with self._lock:
            self._lost_responses.append(path)

    def fail_next_posts(self, count: int, *, path: str = API) -> None:
        """Answer the next ``count`` POSTs under ``path`` with 500 before doing anything (GETs still work)."""
        with self._lock:
            self._failing_posts.extend([path] * count)

    # -- inspection ---------------------------------------------------------------------------------

    def claims_for(self, your_reference: str) -> list[dict[str, Any]]:
        """Return every claim filed under ``your_reference``, as the API shows them."""
        with self._lock:
            return [
                self._render_claim(claim)
                for claim in self.claims.values()
                if claim["your_reference"] == your_reference
            ]

    def claim_count(self, your_reference: str) -> int:
        """Return how many claims exist under ``your_reference``."""
        return len(self.claims_for(your_reference))

    def debtor_count(self, your_reference: str) -> int:
        """Return how many debtors exist under ``your_reference``."""
        with self._lock:
            return sum(1 for debtor in self.debtors.values() if debtor["your_reference"] == your_reference)

    def claim(self, your_reference: str) -> dict[str, Any]:
        """Return the one claim under ``your_reference``."""
        (claim,) = self.claims_for(your_reference)
        return claim

    def debtor(self, your_reference: str) -> dict[str, Any]:
        """Return the one debtor under ``your_reference``."""
        with self._lock:
            (debtor,) = [d for d in self.debtors.values() if d["your_reference"] == your_reference]
            return dict(debtor)

    def document_contents(self, your_reference: str) -> list[tuple[str, str, bytes]]:
        """Return (filename, mime type, content) of every document on the claim."""
        with self._lock:
            claim = self._stored(your_reference)
            return [(doc["filename"], doc["mime_type"], doc["content"]) for doc in claim["documents"]]

    def payments_for(self, your_reference: str) -> list[dict[str, Any]]:
        """Return every payment booked on the claim (reported by the client or collected by paywise)."""
        with self._lock:
            claim_id = self._stored(your_reference)["id"]
            return [self._render_payment(p) for p in self.payments.values() if p["claim"] == claim_id]

    def mandate(self, your_reference: str) -> dict[str, Any]:
        """Return the mandate the claim was accepted into."""
        with self._lock:
            claim = self._stored(your_reference)
            return self._render_mandate(self.mandates[claim["mandate_id"]])

    # -- driving the review and the case --------------------------------------------------------------

    def review(self, your_reference: str) -> None:
        """Start reviewing a released claim."""
        with self._lock:
            claim = self._stored(your_reference)
            self._expect_state(claim, "released")
            self._set_state(claim, "under_review")

    def accept(self, your_reference: str) -> str:
        """Accept a released claim into a new mandate; return the mandate id."""
        with self._lock:
            claim = self._stored(your_reference)
            self._expect_state(claim, "released", "under_review", "client_response_pending")
            charges = claim["payload"].get("additional_charges") or []
            interest = sum(
                (Decimal(c["amount"]["value"]) for c in charges if c.get("type") == "interest"), ZERO
            )
            costs = sum((Decimal(c["amount"]["value"]) for c in charges if c.get("type") != "interest"), ZERO)
            paid_before = sum(
                (Decimal(p["amount"]["value"]) for p in claim["payload"].get("payments") or []), ZERO
            )
            principal = Decimal(claim["payload"]["main_claim_amount"]["value"]) - paid_before
            mandate_id = str(uuid.uuid4())
            self.mandates[mandate_id] = {
                "id": mandate_id,
                "reference_number": f"K25-{next(self._reference_numbers)}",
                "claim_id": claim["id"],
                "debtor_name": self._debtor_name(self.debtors[claim["debtor"]]),
                "legal_stage": "extrajudicial",
                "processing_state": "in_progress",
                "claimed": {"principal": principal, "interest": interest, "costs": costs},
                "paid": {"principal": ZERO, "interest": ZERO, "costs": ZERO},
                "status_updates": [],
                "created": self._now(),
                "updated": self._now(),
            }
            claim["mandate_id"] = mandate_id
            self._set_state(claim, "accepted")
            self._status_update(self.mandates[mandate_id], "Mandat angelegt")
            return mandate_id

    def reject(self, your_reference: str, reason: str) -> None:
        """Reject a released claim with ``reason``."""
        with self._lock:
            claim = self._stored(your_reference)
            self._expect_state(claim, "released", "under_review", "client_response_pending")
            claim["rejection_reason"] = reason
            self._set_state(claim, "rejected")

    def advance(
        self,
        your_reference: str,
        *,
        legal_stage: str | None = None,
        processing_state: str | None = None,
        payment: Decimal | str | None = None,
        value_date: date | None = None,
        title: str = "Statusänderung",
    ) -> None:
        """Move an accepted case on: a new legal stage or processing state, or a payment paywise collected."""
        with self._lock:
            claim = self._stored(your_reference)
            mandate = self.mandates[claim["mandate_id"]]
            if legal_stage is not None:
                if legal_stage not in LEGAL_STAGES:
                    raise ValueError(f"unknown legal stage {legal_stage!r}")
                mandate["legal_stage"] = legal_stage
            if processing_state is not None:
                if processing_state not in PROCESSING_STATES:
                    raise ValueError(f"unknown processing state {processing_state!r}")
                mandate["processing_state"] = processing_state
            if payment is not None:
                self._book_payment(
                    claim,
                    amount=Decimal(str(payment)),
                    value_date=(value_date or self.clock.now().date()).isoformat(),
                    your_reference=None,
                    metadata=[],
                )
            self._status_update(mandate, title)

    # -- the API ----------------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_paywise")
        app.before_request(self._authenticate)
        app.after_request(self._maybe_lose_response)
        app.register_error_handler(ValidationFailed, self._validation_response)
        routes: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/info/", self._info, ["GET"]),
            ("/debtors/", self._list_debtors, ["GET"]),
            ("/debtors/", self._create_debtor, ["POST"]),
            ("/debtors/<debtor_id>/", self._get_debtor, ["GET"]),
            ("/claims/", self._list_claims, ["GET"]),
            ("/claims/", self._create_claim, ["POST"]),
            ("/claims/<claim_id>/", self._get_claim, ["GET"]),
            ("/claims/<claim_id>/", self._update_claim, ["PATCH"]),
            ("/claims/<claim_id>/", self._delete_claim, ["DELETE"]),
            ("/claims/<claim_id>/documents/", self._upload_document, ["POST"]),
            ("/claims/<claim_id>/withdrawal/", self._withdraw_claim, ["POST"]),
            ("/mandates/<mandate_id>/", self._get_mandate, ["GET"]),
            ("/payments/", self._create_payment, ["POST"]),
            ("/payments/<payment_id>/", self._get_payment, ["GET"]),
        ]
        for rule, view, methods in routes:
            app.add_url_rule(f"{API}{rule}", f"{view.__name__}_{methods[0]}", view, methods=methods)
        return app

    def _authenticate(self) -> Response | None:
        if request.method == "POST":
            with self._lock:
                failing = next((p for p in self._failing_posts if request.path.startswith(p)), None)
                if failing is not None:
                    self._failing_posts.remove(failing)
                    return self._error(500, "Internal server error.")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return self._error(401, "Authentication credentials were not provided.")
        if token != self.api_key:
            return self._error(401, "Invalid token.")
        return None

    def _maybe_lose_response(self, response: Response) -> Response:
        if request.method != "POST" or response.status_code != 201:
            return response
        with self._lock:
            for path in self._lost_responses:
                if request.path.startswith(path):
                    self._lost_responses.remove(path)
                    return self._error(500, "Internal server error (the change was saved).")
        return response

    @staticmethod
    def _error(status: int, detail: str) -> Response:
        response = jsonify(detail=detail)
        response.status_code = status
        return response

    def _validation_response(self, error: ValidationFailed) -> Response:
        response = jsonify(error.errors)
        response.status_code = self.validation_status
        return response

    def _info(self) -> Response:
        return jsonify([{"company": {"name": "Test Merchant GmbH"}, "test_mode": True}])

    def _list_debtors(self) -> Response:
        with self._lock:
            found = [
                self._render_debtor(d)
                for d in self.debtors.values()
                if request.args.get("your_reference") in (None, d["your_reference"])
            ]
        return self._page(found)

    def _create_debtor(self) -> Response:
        payload = request.get_json(force=True)
        with self._lock:
            self.debtor_payloads.append(payload)
            self._validate_debtor(payload)
            debtor_id = str(uuid.uuid4())
            self.debtors[debtor_id] = {
                **payload,
                "id": debtor_id,
                "your_reference": payload.get("your_reference"),
                "created": self._now(),
                "updated": self._now(),
            }
            return self._created(self._render_debtor(self.debtors[debtor_id]))

    def _get_debtor(self, debtor_id: str) -> Response:
        with self._lock:
            if debtor_id not in self.debtors:
                return self._error(404, "Not found.")
            return jsonify(self._render_debtor(self.debtors[debtor_id]))

    def _list_claims(self) -> Response:
        with self._lock:
            found = [
                self._render_claim(c)
                for c in self.claims.values()
                if request.args.get("your_reference") in (None, c["your_reference"])
                and request.args.get("submission_state") in (None, c["submission_state"])
            ]
        return self._page(found)

    def _create_claim(self) -> Response:
        payload = request.get_json(force=True)
        with self._lock:
            self.claim_payloads.append(payload)
            self._validate_claim(payload)
            reference = payload["your_reference"]
            if self.duplicate_references == "conflict" and any(
                c["your_reference"] == reference for c in self.claims.values()
            ):
                return self._error(409, f"A claim with your_reference {reference!r} already exists.")
            claim_id = str(uuid.uuid4())
            self.claims[claim_id] = {
                "id": claim_id,
                "your_reference": reference,
                "debtor": payload["debtor"],
                "payload": payload,
                "submission_state": "created",
                "documents": [],
                "mandate_id": None,
                "rejection_reason": None,
                "withdrawal": None,
                "created": self._now(),
                "updated": self._now(),
            }
            for reported in payload.get("payments") or []:
                self._book_payment(
                    self.claims[claim_id],
                    amount=Decimal(reported["amount"]["value"]),
                    value_date=reported["value_date"],
                    your_reference=reported.get("your_reference"),
                    metadata=reported.get("metadata") or [],
                    allocate=False,
                )
            return self._created(self._render_claim(self.claims[claim_id]))

    def _get_claim(self, claim_id: str) -> Response:
        with self._lock:
            if claim_id not in self.claims:
                return self._error(404, "Not found.")
            return jsonify(self._render_claim(self.claims[claim_id]))

    def _update_claim(self, claim_id: str) -> Response:
        payload = request.get_json(force=True)
        with self._lock:
            claim = self.claims.get(claim_id)
            if claim is None:
                return self._error(404, "Not found.")
            if claim["submission_state"] != "created":
                return self._error(409, "A released claim cannot be changed. Please contact our support.")
            new_state = payload.pop("submission_state", None)
            payload.pop("send_order_confirmation", None)
            if new_state not in (None, "created", "released"):
                raise ValidationFailed({"submission_state": [f'"{new_state}" is not a valid choice.']})
            if payload:
                merged = {**claim["payload"], **payload}
                self._validate_claim(merged)
                claim["payload"] = merged
            if new_state == "released":
                self._set_state(claim, "released")
            return jsonify(self._render_claim(claim))

    def _delete_claim(self, claim_id: str) -> Response:
        with self._lock:
            claim = self.claims.get(claim_id)
            if claim is None:
                return self._error(404, "Not found.")
            if claim["submission_state"] != "created":
                return self._error(409, "Only unreleased claims can be deleted.")
            del self.claims[claim_id]
            for payment_id in [pid for pid, p in self.payments.items() if p["claim"] == claim_id]:
                del self.payments[payment_id]
            return Response(status=204)

    def _upload_document(self, claim_id: str) -> Response:
        with self._lock:
            claim = self.claims.get(claim_id)
            if claim is None:
                return self._error(404, "Not found.")
            if claim["submission_state"] != "created":
                return self._error(409, "A released claim cannot be changed. Please contact our support.")
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise ValidationFailed({"file": ["No file was submitted."]})
            claim["documents"].append(
                {
                    "id": str(uuid.uuid4()),
                    "filename": upload.filename,
                    "mime_type": upload.mimetype,
                    "content": upload.read(),
                }
            )
            claim["updated"] = self._now()
            return self._created(self._render_claim(claim))

    def _withdraw_claim(self, claim_id: str) -> Response:
        payload = request.get_json(force=True)
        with self._lock:
            claim = self.claims.get(claim_id)
            if claim is None:
                return self._error(404, "Not found.")
            if claim["submission_state"] == "created":
                return self._error(409, "Unreleased claims are deleted, not withdrawn.")
            if claim["withdrawal"] is not None:
                return jsonify(self._render_claim(claim))
            reason = str(payload.get("reason") or "").strip()
            if not reason:
                raise ValidationFailed({"reason": ["This field is required."]})
            claim["withdrawal"] = {"reason": reason, "created": self._now()}
            claim["updated"] = self._now()
            if claim["mandate_id"] is not None:
                mandate = self.mandates[claim["mandate_id"]]
                mandate["processing_state"] = "canceled_by_client"
                self._status_update(mandate, "Auftrag durch Mandant zurückgezogen")
            return self._created(self._render_claim(claim))

    def _get_mandate(self, mandate_id: str) -> Response:
        with self._lock:
            if mandate_id not in self.mandates:
                return self._error(404, "Not found.")
            return jsonify(self._render_mandate(self.mandates[mandate_id]))

    def _create_payment(self) -> Response:
        payload = request.get_json(force=True)
        with self._lock:
            errors: dict[str, list[str]] = {}
            claim = self.claims.get(str(payload.get("claim")))
            if claim is None:
                errors["claim"] = ["Object does not exist."]
            amount = _parse_amount(payload.get("amount"), "amount", errors)
            if amount is not None and amount <= 0:
                errors.setdefault("amount", []).append("Ensure this value is greater than 0.")
            _check_date(payload.get("value_date"), "value_date", errors, required=True)
            if errors:
                raise ValidationFailed(errors)
            assert claim is not None and amount is not None
            reference = payload.get("your_reference")
            duplicate = reference is not None and any(
                p["claim"] == claim["id"] and p["your_reference"] == reference for p in self.payments.values()
            )
            if duplicate and self.duplicate_references == "conflict":
                return self._error(409, f"A payment with your_reference {reference!r} already exists.")
            payment = self._book_payment(
                claim,
                amount=amount,
                value_date=payload["value_date"],
                your_reference=reference,
                metadata=payload.get("metadata") or [],
            )
            return self._created(self._render_payment(payment))

    def _get_payment(self, payment_id: str) -> Response:
        with self._lock:
            if payment_id not in self.payments:
                return self._error(404, "Not found.")
            return jsonify(self._render_payment(self.payments[payment_id]))

    # -- validation -------------------------------------------------------------------------------------

    def _validate_debtor(self, payload: Mapping[str, Any]) -> None:
        errors: dict[str, list[str]] = {}
        acting_as = payload.get("acting_as")
        if acting_as not in ("consumer", "business"):
            errors["acting_as"] = [f'"{acting_as}" is not a valid choice.']
        person = payload.get("person") or {}
        organization = payload.get("organization") or {}
        if not person and not organization:
            errors["person"] = ["Either person or organization is required."]
        if person and not person.get("last_name"):
            errors["person.last_name"] = ["This field is required."]
        if organization and not organization.get("name"):
            errors["organization.name"] = ["This field is required."]
        if acting_as == "consumer" and not person:
            errors["person"] = ["A consumer must be a natural person."]
        if person.get("birth_date") is not None:
            _check_date(person["birth_date"], "person.birth_date", errors)
        addresses = payload.get("addresses") or []
        if not addresses:
            errors["addresses"] = ["This list may not be empty."]
        for index, address in enumerate(addresses):
            for key in ("street", "zip", "city", "country"):
                if not address.get(key):
                    errors.setdefault(f"addresses[{index}].{key}", []).append("This field may not be blank.")
        for index, channel in enumerate(payload.get("communication_channels") or []):
            if channel.get("type") not in CHANNEL_TYPES or not channel.get("value"):
                errors.setdefault(f"communication_channels[{index}]", []).append("Invalid channel.")
        if errors:
            raise ValidationFailed(errors)

    def _validate_claim(self, payload: Mapping[str, Any]) -> None:
        errors: dict[str, list[str]] = {}
        if payload.get("debtor") not in self.debtors:
            errors["debtor"] = ["Object does not exist."]
        if not payload.get("your_reference"):
            errors["your_reference"] = ["This field is required."]
        for name in ("occurence_date", "document_date", "due_date", "reminder_date", "delay_date"):
            _check_date(payload.get(name), name, errors, required=name == "document_date")
        main = _parse_amount(payload.get("main_claim_amount"), "main_claim_amount", errors)
        total = _parse_amount(payload.get("total_claim_amount"), "total_claim_amount", errors)
        if main is not None and main <= 0:
            errors.setdefault("main_claim_amount", []).append("Ensure this value is greater than 0.")
        elif main is not None and main < self.minimum_amount:
            errors.setdefault("main_claim_amount", []).append(
                f"Claims below {self.minimum_amount} EUR are not accepted for collection."
            )
        charges = Decimal(0)
        for index, charge in enumerate(payload.get("additional_charges") or []):
            amount = _parse_amount(charge.get("amount"), f"additional_charges[{index}].amount", errors)
            charges += amount or 0
            if not charge.get("type"):
                errors.setdefault(f"additional_charges[{index}].type", []).append("This field is required.")
        if "additional_charges_amount" in payload:
            declared = _parse_amount(
                payload["additional_charges_amount"], "additional_charges_amount", errors
            )
            if declared is not None and declared != charges:
                errors.setdefault("additional_charges_amount", []).append(
                    "Must equal the sum of the additional charges."
                )
        paid = Decimal(0)
        for index, payment in enumerate(payload.get("payments") or []):
            paid += _parse_amount(payment.get("amount"), f"payments[{index}].amount", errors) or 0
            _check_date(payment.get("value_date"), f"payments[{index}].value_date", errors, required=True)
        for index, item in enumerate(payload.get("items") or []):
            _parse_amount(item.get("amount"), f"items[{index}].amount", errors)
            if not item.get("description"):
                errors.setdefault(f"items[{index}].description", []).append("This field is required.")
        if main is not None and total is not None and total != main + charges - paid:
            errors.setdefault("total_claim_amount", []).append(
                "Must equal the main claim amount plus additional charges minus payments."
            )
        if errors:
            raise ValidationFailed(errors)

    # -- state ------------------------------------------------------------------------------------------

    def _stored(self, your_reference: str) -> dict[str, Any]:
        (claim,) = [c for c in self.claims.values() if c["your_reference"] == your_reference]
        return claim

    @staticmethod
    def _expect_state(claim: Mapping[str, Any], *states: str) -> None:
        if claim["submission_state"] not in states:
            raise ValueError(f"claim is {claim['submission_state']}, expected one of {states}")

    def _set_state(self, claim: dict[str, Any], state: str) -> None:
        claim["submission_state"] = state
        claim["updated"] = self._now()

    def _book_payment(
        self,
        claim: dict[str, Any],
        *,
        amount: Decimal,
        value_date: str,
        your_reference: str | None,
        metadata: list[dict[str, Any]],
        allocate: bool = True,
    ) -> dict[str, Any]:
        payment_id = str(uuid.uuid4())
        self.payments[payment_id] = {
            "id": payment_id,
            "claim": claim["id"],
            "your_reference": your_reference,
            "amount": amount,
            "value_date": value_date,
            "metadata": metadata,
            "created": self._now(),
        }
        if allocate and claim["mandate_id"] is not None:
            self._allocate(self.mandates[claim["mandate_id"]], amount)
        return self.payments[payment_id]

    def _allocate(self, mandate: dict[str, Any], amount: Decimal) -> None:
        """Apply a payment to costs, then interest, then principal (§367(1) BGB)."""
        remaining = amount
        for part in ("costs", "interest", "principal"):
            open_amount = mandate["claimed"][part] - mandate["paid"][part]
            applied = min(open_amount, remaining)
            mandate["paid"][part] += applied
            remaining -= applied
        # Overpayment stays on the principal so the total shows it rather than vanishing.
        mandate["paid"]["principal"] += remaining
        mandate["updated"] = self._now()

    def _status_update(self, mandate: dict[str, Any], title: str) -> None:
        mandate["status_updates"].append(
            {
                "id": str(uuid.uuid4()),
                "title": title,
                "description": None,
                "legal_stage": mandate["legal_stage"],
                "processing_state": mandate["processing_state"],
                "created": self._now(),
                "downloads": [],
            }
        )
        mandate["updated"] = self._now()

    def _now(self) -> str:
        return self.clock.now().isoformat().replace("+00:00", "Z")

    @staticmethod
    def _debtor_name(debtor: Mapping[str, Any]) -> str:
        if debtor.get("organization"):
            return str(debtor["organization"]["name"])
        person = debtor.get("person") or {}
        return " ".join(part for part in (person.get("first_name"), person.get("last_name")) if part)

    # -- rendering --------------------------------------------------------------------------------------

    def _href(self, kind: str, object_id: str) -> str:
        host = request.host_url.rstrip("/") if has_request_context() else ""
        return f"{host}{API}/{kind}/{object_id}/"

    def _render_debtor(self, debtor: Mapping[str, Any]) -> dict[str, Any]:
        return {"href": self._href("debtors", debtor["id"]), **debtor}

    def _render_claim(self, claim: Mapping[str, Any]) -> dict[str, Any]:
        mandate = None
        if claim["mandate_id"] is not None:
            mandate = {
                "href": self._href("mandates", claim["mandate_id"]),
                "id": claim["mandate_id"],
                "reference_number": self.mandates[claim["mandate_id"]]["reference_number"],
            }
        return {
            **claim["payload"],
            "href": self._href("claims", claim["id"]),
            "id": claim["id"],
            "submission_state": claim["submission_state"],
            "debtor": claim["debtor"],
            "mandate": mandate,
            "documents": [
                {"id": doc["id"], "filename": doc["filename"], "mime_type": doc["mime_type"]}
                for doc in claim["documents"]
            ],
            "payments": [
                self._render_payment(p) for p in self.payments.values() if p["claim"] == claim["id"]
            ],
            "rejection_reason": claim["rejection_reason"],
            "withdrawal": claim["withdrawal"],
            "created": claim["created"],
            "updated": claim["updated"],
        }

    def _render_payment(self, payment: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "href": self._href("payments", payment["id"]),
            "id": payment["id"],
            "claim": payment["claim"],
            "your_reference": payment["your_reference"],
            "amount": _money(payment["amount"]),
            "value_date": payment["value_date"],
            "metadata": payment["metadata"],
            "created": payment["created"],
        }

    def _render_mandate(self, mandate: Mapping[str, Any]) -> dict[str, Any]:
        claimed, paid = mandate["claimed"], mandate["paid"]
        balance = {part: claimed[part] - paid[part] for part in claimed}
        total_balance = sum(balance.values(), ZERO)
        total_paid = sum(paid.values(), ZERO)
        if total_paid <= 0:
            payment_state = "unpaid"
        elif total_balance <= 0:
            payment_state = "fully_paid"
        else:
            payment_state = "partially_paid"
        claim_payments = [
            {"href": self._href("payments", p["id"]), "id": p["id"]}
            for p in self.payments.values()
            if p["claim"] == mandate["claim_id"]
        ]
        return {
            "href": self._href("mandates", mandate["id"]),
            "id": mandate["id"],
            "reference_number": mandate["reference_number"],
            "further_reference_numbers": [],
            "debtor": {"name": mandate["debtor_name"]},
            "legal_stage": mandate["legal_stage"],
            "processing_state": mandate["processing_state"],
            "payment_state": payment_state,
            "legal_claim_balance": {
                "balance_of_costs_interest_bearing": _money(ZERO),
                "balance_of_costs_interest_free": _money(balance["costs"]),
                "balance_of_interest_on_costs": _money(ZERO),
                "balance_of_interest_on_principal_claim": _money(balance["interest"]),
                "balance_of_principal_claim": _money(balance["principal"]),
                "total_balance": _money(total_balance),
                "legal_claim_of_costs_interest_bearing": _money(ZERO),
                "legal_claim_of_costs_interest_free": _money(claimed["costs"]),
                "legal_claim_of_interest_on_costs": _money(ZERO),
                "legal_claim_of_interest_on_principal_claim": _money(claimed["interest"]),
                "legal_claim_of_principal_claim": _money(claimed["principal"]),
                "total_legal_claim": _money(sum(claimed.values(), ZERO)),
                "payment_on_costs_interest_bearing": _money(ZERO),
                "payment_on_costs_interest_free": _money(paid["costs"]),
                "payment_on_interest_on_costs": _money(ZERO),
                "payment_on_interest_on_principal_claim": _money(paid["interest"]),
                "payment_on_principal_claim": _money(paid["principal"]),
                "total_payment": _money(total_paid),
                "updated": mandate["updated"],
            },
            "claims": [
                {
                    "href": self._href("claims", mandate["claim_id"]),
                    "id": mandate["claim_id"],
                    "payments": claim_payments,
                }
            ],
            "total_mandate_amount": _money(sum(claimed.values(), ZERO)),
            "status_updates": list(mandate["status_updates"]),
            "archived": False,
            "created": mandate["created"],
        }

    def _page(self, results: list[dict[str, Any]]) -> Response:
        limit = int(request.args.get("limit", 100))
        offset = int(request.args.get("offset", 0))
        page = results[offset : offset + limit]
        base = request.base_url
        after = offset + limit
        return jsonify(
            count=len(results),
            next=f"{base}?limit={limit}&offset={after}" if after < len(results) else None,
            previous=f"{base}?limit={limit}&offset={max(0, offset - limit)}" if offset else None,
            results=page,
        )

    @staticmethod
    def _created(body: dict[str, Any]) -> Response:
        response = jsonify(body)
        response.status_code = 201
        return response
